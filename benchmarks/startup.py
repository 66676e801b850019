"""Fresh-process time and small-mesh speed (issue 13), beside skeliner and skeletor.

Run: python benchmarks/startup.py [--repeats 3] [--no-microns]

* fresh process: a new Python process that imports neurograph and extracts a 13.8k-face
  hemibrain mesh (``extract(path, voxel_size=8, spines=False)``, as ``benchmarks/scaling.py``
  measures it), with the Numba cache warm (one run first to fill it); wall and CPU time of
  the whole process (CPU of the child from ``getrusage``), min and median over the repeats,
  and the import alone; the child runs with bytecode caches on, as a user's Python does
  (``pipeline.user_env``: this sandbox sets ``PYTHONDONTWRITEBYTECODE=1``); once as a script runs
  by default and once with ``NEUROGRAPH_QUICK_EXIT=1`` (``neurograph.quick_exit``: the exit skips the
  garbage collector's walks over every imported object; what the ``neurograph`` command does), the
  two alternating;
* small meshes: the five hemibrain DA1 meshes (8 nm voxels, ``dataset="hemibrain"``: spines
  off), per-stage CPU time of ``ng.extract`` in one warm process (the best of the repeats; the
  mesh loaded before the timing, as for the baselines and in ``benchmarks/scaling.py``), beside
  ``skeliner.skeletonize`` and skeletor ``fix_mesh`` + ``by_wavefront`` on the same mesh in the
  same process (each tool run once first, so that neither pays its imports or
  compilation in the timed runs);
* MICrONS 81k faces (``voxel_size=1``, spines on): the same, per stage.

CPU time (``process_time``) is the comparable number on a shared machine; wall times are
printed too. Output: ``benchmarks/results/startup.txt`` (rewritten after every line).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import SHARED, fresh_process, hemibrain_dir, user_env  # noqa: E402

OUT = Path(__file__).resolve().parent / "results" / "startup.txt"
MICRONS = SHARED / "microns_neurd" / "864691135510518224_decimated_mesh.off"


def timed(fn, repeats: int) -> tuple[float, float, object]:
    """Best (CPU s, wall s) of ``repeats`` calls, and the last result."""
    best_cpu, best_wall, out = np.inf, np.inf, None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        best_cpu, best_wall = min(best_cpu, time.process_time() - c0), min(best_wall, time.perf_counter() - t0)
    return best_cpu, best_wall, out


def extract_stages(path: Path, voxel: float, repeats: int, **kwargs) -> tuple[float, float, dict, object]:
    """Best-of-``repeats`` ``ng.extract``: total CPU and wall s, CPU s per stage, the neuron. Each run gets
    the mesh loaded anew, outside the timing, as the baselines get it (reading the file is not their
    work either: 0.07-0.1 s for the 81k-face MICrONS text file)."""
    import neurograph as ng

    best = (np.inf, np.inf, {}, None)
    for _ in range(repeats):
        mesh = ng.load_mesh(path, voxel)
        stages: dict[str, float] = {}
        clock = [time.process_time()]

        def progress(stage: str, sec: float) -> None:
            now = time.process_time()
            stages[stage] = now - clock[0]
            clock[0] = now

        c0, t0 = time.process_time(), time.perf_counter()
        neuron = ng.extract(mesh, progress=progress, **kwargs)
        cpu, wall = time.process_time() - c0, time.perf_counter() - t0
        if cpu < best[0]:
            best = (cpu, wall, stages, neuron)
    return best


def baselines(mesh, repeats: int) -> dict:
    """skeliner and skeletor on the same mesh: best CPU and wall s, cable (µm)."""
    import skeletor as sk

    def skeletor_run():
        fixed = sk.pre.fix_mesh(mesh, remove_disconnected=False, inplace=False)
        return sk.skeletonize.by_wavefront(fixed, waves=1, step_size=1, progress=False)

    out = {}
    runs = {"skeletor": skeletor_run}
    try:
        import skeliner

        runs["skeliner"] = lambda: skeliner.skeletonize(mesh, verbose=False)
    except ImportError:
        pass
    for name, fn in runs.items():
        fn()  # imports, compilation
        cpu, wall, skel = timed(fn, repeats)
        nodes, edges = np.asarray(skel.vertices if name == "skeletor" else skel.nodes, float), np.asarray(skel.edges)
        cable = float(np.linalg.norm(nodes[edges[:, 0]] - nodes[edges[:, 1]], axis=1).sum()) / 1e3
        out[name] = (cpu, wall, cable)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-microns", action="store_true")
    ap.add_argument("--no-fresh", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    lines: list[str] = []

    def log(s: str) -> None:
        print(s, flush=True)
        lines.append(s)
        args.out.parent.mkdir(exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")

    import neurograph as ng

    hb = hemibrain_dir()
    small = hb / "obj" / "722817260.obj"
    log(f"neurograph {ng.__version__} from {Path(ng.__file__).parent}; python {sys.version.split()[0]}; "
        f"{os.cpu_count()} cores; load average at start {os.getloadavg()[0]:.1f}")
    log("times: CPU s (process_time; comparable on a shared machine) / wall s")
    if not args.no_fresh:
        fresh_process(small, 8.0)  # fills the Numba and bytecode caches if they are cold
        faces = len(ng.load_mesh(small, 8).faces)
        default = {k: v for k, v in user_env().items() if k != "NEUROGRAPH_QUICK_EXIT"}
        modes = {"default": default, "NEUROGRAPH_QUICK_EXIT=1": user_env(NEUROGRAPH_QUICK_EXIT="1")}
        runs: dict[str, list] = {m: [] for m in modes}
        for _ in range(args.repeats):  # the two modes alternate: both see the same machine
            for m, env in modes.items():
                runs[m].append(fresh_process(small, 8.0, env=env))
        for m, rs in runs.items():
            med = {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "import", "total")}
            med["rest"] = statistics.median(r["wall"] - r["total"] for r in rs)
            log(f"fresh process, {m} (python + import neurograph + extract of the {faces}-face "
                f"hemibrain mesh {small.stem}, spines off, Numba cache warm), {args.repeats} runs: "
                f"CPU min {min(r['cpu'] for r in rs):.2f} / median {med['cpu']:.2f} s; "
                f"wall min {min(r['wall'] for r in rs):.2f} / median {med['wall']:.2f} s "
                f"(import alone: wall median {med['import']:.2f} s; python's start and exit: {med['rest']:.2f} s)")
    ng.extract(small, dataset="hemibrain")  # warm: imports, Numba cache loads
    for obj in sorted((hb / "obj").glob("*.obj")):
        cpu, wall, stages, neuron = extract_stages(obj, 8.0, args.repeats, dataset="hemibrain")
        mesh = ng.load_mesh(obj, 8.0)
        base = baselines(mesh, args.repeats)
        line = (f"hemibrain {obj.stem:10s} {len(mesh.faces):6d} faces | extract {cpu:5.2f} / {wall:5.2f} s, "
                f"{len(neuron.branches)} branches, cable {neuron.skeleton.cable_length / 1e3:7.1f} µm")
        for name, (b_cpu, b_wall, cable) in base.items():
            line += f" | {name} {b_cpu:5.2f} / {b_wall:5.2f} s ({cable:7.1f} µm): CPU ratio {cpu / b_cpu:4.2f}"
        log(line)
        log("    stages CPU s: " + " ".join(f"{k} {v:.3f}" for k, v in stages.items()))
    if not args.no_microns and MICRONS.exists():
        cpu, wall, stages, neuron = extract_stages(MICRONS, 1.0, max(1, args.repeats - 1), voxel_size=1.0)
        mesh = ng.load_mesh(MICRONS, 1.0)
        base = baselines(mesh, max(1, args.repeats - 1))
        line = (f"microns {len(mesh.faces):6d} faces | extract (spines on) {cpu:5.2f} / {wall:5.2f} s, "
                f"{len(neuron.branches)} branches, {len(neuron.spines)} spines, "
                f"cable {neuron.skeleton.cable_length / 1e3:7.1f} µm")
        for name, (b_cpu, b_wall, cable) in base.items():
            line += f" | {name} {b_cpu:5.2f} / {b_wall:5.2f} s ({cable:7.1f} µm): CPU ratio {cpu / b_cpu:4.2f}"
        log(line)
        log("    stages CPU s: " + " ".join(f"{k} {v:.3f}" for k, v in stages.items()))
    log(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
