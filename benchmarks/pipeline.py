"""Wall time and peak memory per pipeline stage on real meshes, with skeletor's wavefront
skeletonization on the same meshes as the baseline, and accuracy against references.

Run: python benchmarks/pipeline.py  (uses ../shared/data when present, else navis' copy)

Each neuron runs in a fresh process so peak memory is its own; peak RSS per stage is
sampled every 5 ms by a thread reading /proc/self/statm.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

import neurograph as ng

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
NEURD_SOMAS = np.array([(1_488_881, 589_300, 1_100_652), (1_472_183, 577_993, 1_112_354)], float)


FRESH = ("import json, sys, time; t = time.perf_counter(); import neurograph as ng; "
         "t_import = time.perf_counter() - t; ng.extract(sys.argv[1], voxel_size=float(sys.argv[2]), spines=False); "
         "print('RESULT ' + json.dumps({'import': t_import, 'total': time.perf_counter() - t}))")


def user_env(**extra: str) -> dict:
    """The environment of a user's Python: this machine's sandbox sets PYTHONDONTWRITEBYTECODE=1,
    so an editable install would recompile every neurograph module in every new process (~0.1-0.2 s
    of import here); a normal Python writes the bytecode caches on first import and reuses them."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra)
    return env


def fresh_process(path: Path, voxel: float, env: dict | None = None) -> dict:
    """A new Python process that imports neurograph and extracts ``path`` (spines off), timed from
    outside: ``wall`` and ``cpu`` (the child's, from ``getrusage``) of the whole process, s, and
    the child's own ``import`` and ``total`` wall s. A RuntimeError with the child's stderr when
    it fails (a crashed child is no fast fresh process)."""
    t0, c0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", FRESH, str(path), str(voxel)], capture_output=True, text=True,
                          env=user_env() if env is None else env)
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if not lines:
        raise RuntimeError(f"fresh process failed: {(proc.stderr or 'no output')[-500:]}")
    out = json.loads(lines[-1][7:])
    out["wall"] = time.perf_counter() - t0
    out["cpu"] = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    return out


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class RssSampler(threading.Thread):
    """Largest resident set size (MB) seen since the last :meth:`take`."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.page = os.sysconf("SC_PAGE_SIZE") / 2 ** 20
        self.peak = 0.0

    def rss(self) -> float:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.page

    def run(self) -> None:
        while True:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.005)

    def take(self) -> float:
        peak, self.peak = max(self.peak, self.rss()), self.rss()
        return peak


def hemibrain_dir() -> Path:
    if (SHARED / "hemibrain_da1").exists():
        return SHARED / "hemibrain_da1"
    import navis

    return Path(os.path.dirname(navis.__file__)) / "data"


def baseline(mesh) -> tuple[float, float, int]:
    import skeletor as sk

    t = time.perf_counter()
    fixed = sk.pre.fix_mesh(mesh, remove_disconnected=False, inplace=False)
    skel = sk.skeletonize.by_wavefront(fixed, waves=1, step_size=1, progress=False)
    seconds = time.perf_counter() - t
    length = float(np.linalg.norm(skel.vertices[skel.edges[:, 0]] - skel.vertices[skel.edges[:, 1]], axis=1).sum())
    return seconds, length, len(skel.roots)


def run(path: Path, voxel: float, ref_cable_nm: float | None, ref_somas: np.ndarray | None, spines: bool) -> None:
    sampler = RssSampler()
    sampler.start()
    stages: dict[str, tuple[float, float]] = {}
    t0 = time.perf_counter()
    neuron = ng.extract(path, voxel_size=voxel, spines=spines,
                        progress=lambda s, sec: stages.__setitem__(s, (sec, sampler.take())))
    total = time.perf_counter() - t0
    mesh = ng.load_mesh(path, voxel_size=voxel)
    sampler.take()
    b_sec, b_len, b_roots = baseline(mesh)
    b_mb = sampler.take()
    cable = neuron.skeleton.cable_length
    print(f"{path.stem[:22]:22s} faces {len(mesh.faces):6d} | " + " ".join(f"{k} {v[0]:5.2f}s/{v[1]:4.0f}MB"
                                                                           for k, v in stages.items()))
    line = (f"    total {total:5.2f} s, peak RSS {peak_mb():5.0f} MB | somas {neuron.n_somas} "
            f"branches {len(neuron.branches):5d} spines {len(neuron.spines) if spines else 'off'} "
            f"cable {cable / 1e3:7.1f} µm")
    if ref_cable_nm:
        line += f" ({cable / ref_cable_nm:.2f} of ref SWC)"
    line += f" | skeletor fix_mesh+wavefront {b_sec:5.2f} s/{b_mb:4.0f}MB, {b_len / 1e3:7.1f} µm"
    if ref_cable_nm:
        line += f" ({b_len / ref_cable_nm:.2f} of ref)"
    line += f", {b_roots} pieces"
    print(line, flush=True)
    if ref_somas is not None:
        for ref in ref_somas:
            d = min((np.linalg.norm(s.center - ref) for s in neuron.somas), default=np.inf)
            print(f"    soma reference {ref.astype(int).tolist()}: nearest found {d / 1e3:.2f} µm away")
    area_in = neuron.repair_report["area_in_um2"]
    print(f"    mesh area assigned to branches/somata: {neuron.mesh.area / 1e6 / area_in:.3f} of input; "
          f"repair kept {neuron.repair_report['components_kept']}/{neuron.repair_report['components_in']} pieces",
          flush=True)


def run_synthetic(shape: str, seed: int) -> None:
    cell = ng.synthetic.make_neuron(seed, shape)
    t0 = time.perf_counter()
    neuron = ng.extract(cell.mesh, voxel_size=1)
    sec = time.perf_counter() - t0
    err = (f"{np.linalg.norm(neuron.somas[0].center - cell.soma_center) / cell.soma_radius:.3f}"
           if neuron.somas and cell.soma_center is not None else "-")
    print(f"synthetic {shape:10s} seed {seed} faces {len(cell.mesh.faces):6d} | {sec:5.2f} s, peak RSS "
          f"{peak_mb():5.0f} MB | branches {len(neuron.branches):3d} (truth {len(cell.branches):3d}) | length "
          f"{neuron.branches.length.sum() / cell.total_length:.3f} of truth | somas {neuron.n_somas} "
          f"(truth {int(cell.soma_center is not None)}), centre error {err} radii", flush=True)


def child(args: list[str]) -> int:
    """One neuron in this (fresh) process."""
    if args[0] == "synthetic":
        run_synthetic(args[1], int(args[2]))
        return 0
    path, voxel, ref_cable, somas = Path(args[0]), float(args[1]), json.loads(args[2]), json.loads(args[3])
    run(path, voxel, ref_cable, None if somas is None else np.asarray(somas, float), args[4] == "spines")
    return 0


def spawn(*args) -> None:
    subprocess.run([sys.executable, __file__, "--one", *map(str, args)], check=False)


def main() -> int:
    import navis

    if len(sys.argv) > 1 and sys.argv[1] == "--one":
        return child(sys.argv[2:])
    print(f"neurograph {ng.__version__}; python {sys.version.split()[0]}; {os.cpu_count()} cores; "
          "stage: wall time / peak RSS during the stage", flush=True)
    for shape in ("pyramidal", "multipolar", "bipolar", "fragment"):
        for seed in range(3):
            spawn("synthetic", shape, seed)
    hb = hemibrain_dir()
    for obj in sorted((hb / "obj").glob("*.obj")):
        ref = navis.read_swc(hb / "swc" / f"{obj.stem}.swc")
        soma = None
        if ref.soma is not None:
            soma = ref.nodes.set_index("node_id").loc[[ref.soma] if np.isscalar(ref.soma) else ref.soma,
                                                      ["x", "y", "z"]].to_numpy(float) * 8
        # fly neurons have no dendritic spines: extract(spines=False), as the README says
        spawn(obj, 8.0, json.dumps(float(ref.cable_length) * 8), json.dumps(None if soma is None else soma.tolist()),
              "no-spines")
    microns = SHARED / "microns_neurd" / "864691135510518224_decimated_mesh.off"
    if microns.exists():
        spawn(microns, 1.0, json.dumps(None), json.dumps(NEURD_SOMAS.tolist()), "spines")
    else:
        print("MICrONS mesh not found (../shared/data): skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
