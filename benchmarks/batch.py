"""Batch runner throughput and memory: neurons per minute with 1 and 2 local workers (and,
with --dask, a 2-worker Dask LocalCluster, with one subprocess per neuron and with
``isolate=False``), on FAFB skeletons (SWC, nm) and synthetic meshes.

Run: python benchmarks/batch.py [--fafb 40] [--synthetic 8] [--dask]

Every configuration runs in a fresh Python process, from an empty output folder, so the
wall time includes everything a user waits for (imports, worker start-up and warm-up,
writing Parquet and saved neurons). Reported memory: the peak RSS of that parent process
(``ru_maxrss``), and the peak RSS of the worker processes as each recorded it in its ``done``
marker (largest and median; it includes the pages a forked worker shares with the forkserver).
``s/neuron`` is the mean time inside one worker per neuron; ``load avg`` the machine's 1-minute
load before and after the run (other processes on the machine slow every number down).
FAFB skeletons: ../shared/data/fafb_olfactory_pns/swc (Bates et al. 2020), skipped if absent.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAFB = ROOT.parent / "shared" / "data" / "fafb_olfactory_pns" / "swc"
SHAPES = ("bipolar", "fragment", "multipolar", "fragment")


def _one(inputs: list[str], out: str, workers: int, swc_units: str | None, dask: bool, isolate: bool = True) -> dict:
    """Child: one batch run; prints its own measurements as JSON."""
    from neurograph.batch import extract_all, read_results

    t0 = time.perf_counter()
    if dask:
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as c, \
                Client(c) as client:
            summary = extract_all(inputs, out, scheduler=client, voxel_size=1, units=swc_units, progress=False,
                                      isolate=isolate)  # meshes in nm
    else:
        summary = extract_all(inputs, out, workers=workers, voxel_size=1, units=swc_units, progress=False)
    wall = time.perf_counter() - t0
    parent = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peaks, secs = [], []
    for name in os.listdir(os.path.join(out, "done")):
        with open(os.path.join(out, "done", name)) as fh:
            info = json.load(fh)
        peaks.append(info.get("peak_rss_mb") or 0.0)
        secs.append(info["seconds"])
    res = read_results(out, tables=("neurons", "branches"))
    return {"ok": summary.succeeded, "failed": summary.failed, "wall": wall, "parent_mb": parent,
            "worker_max_mb": max(peaks, default=float("nan")),
            "worker_median_mb": sorted(peaks)[len(peaks) // 2] if peaks else float("nan"),
            "neuron_s": sum(secs) / max(len(secs), 1), "branches": len(res.branches)}


def _run(inputs: list[str], workers: int, swc_units: str | None, dask: bool = False, isolate: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        spec = json.dumps({"inputs": inputs, "out": os.path.join(tmp, "out"), "workers": workers,
                           "swc_units": swc_units, "dask": dask, "isolate": isolate})
        done = subprocess.run([sys.executable, __file__, "--child", spec], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _synthetic(folder: Path, n: int) -> list[str]:
    from neurograph.synthetic import make_neuron

    paths = []
    for seed in range(n):
        path = folder / f"synthetic_{seed:03d}.ply"
        make_neuron(seed=seed, shape=SHAPES[seed % len(SHAPES)]).mesh.export(path)
        paths.append(str(path))
    return paths


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fafb", type=int, default=40, help="FAFB skeletons to run (0: none)")
    ap.add_argument("--synthetic", type=int, default=8, help="synthetic meshes to run (0: none)")
    ap.add_argument("--dask", action="store_true", help="also run a 2-worker Dask LocalCluster")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        spec = json.loads(args.child)
        print(json.dumps(_one(**spec)))
        return
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"$ python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}".rstrip())
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; uptime before: {uptime}", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        sets = []
        if args.fafb and FAFB.is_dir():
            files = sorted(str(p) for p in FAFB.glob("*.swc"))[: args.fafb]
            sets.append((f"FAFB SWC (nm) x{len(files)}", files, "nm"))
        elif args.fafb:
            print(f"({FAFB} not found: FAFB skipped)")
        if args.synthetic:
            t = time.perf_counter()
            files = _synthetic(Path(tmp), args.synthetic)
            print(f"(made {len(files)} synthetic meshes, shapes {', '.join(SHAPES)}, in {time.perf_counter() - t:.0f} s)")
            sets.append((f"synthetic meshes x{len(files)}", files, None))
        print(f"{os.cpu_count()} cores\n{'inputs':<24} {'backend':<13} {'ok':>4} {'fail':>4} {'wall s':>7} "
              f"{'neurons/min':>11} {'s/neuron':>8} {'parent MB':>9} {'worker MB max/median':>21} {'load avg':>9}")
        for label, files, units in sets:
            configs = [("local", 1), ("local", 2)] + ([("dask", 2), ("dask-noiso", 2)] if args.dask else [])
            for backend, workers in configs:
                load0 = os.getloadavg()[0]
                r = _run(files, workers, units, dask=backend.startswith("dask"), isolate=backend != "dask-noiso")
                rate = 60 * (r["ok"] + r["failed"]) / r["wall"]
                print(f"{label:<24} {backend + ' x' + str(workers):<13} {r['ok']:>4} {r['failed']:>4} {r['wall']:>7.1f} "
                      f"{rate:>11.1f} {r['neuron_s']:>8.2f} {r['parent_mb']:>9.0f} "
                      f"{r['worker_max_mb']:>10.0f} / {r['worker_median_mb']:<8.0f} "
                      f"{load0:>4.1f}-{os.getloadavg()[0]:<4.1f}", flush=True)
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}; uptime after: {uptime}")


if __name__ == "__main__":
    main()
