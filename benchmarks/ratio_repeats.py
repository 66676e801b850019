"""Issue 13's ratio lines at the small sizes, measured several times: one run of
``scaling.py`` gives one ratio per mesh, and single runs of 0.1-0.9 s scatter by 10-30 % here.

Run: python benchmarks/ratio_repeats.py [--repeats 5] [--out benchmarks/results]

For the MICrONS example mesh (81k faces; the full extract with spines, synapses and features),
the synthetic spiny fragment (56k faces) and the five hemibrain DA1 meshes (8 nm voxels, spines
off), the extract and each baseline run in alternating fresh processes, ``--repeats`` times,
each process as in ``scaling.py`` (6 runs on the mesh loaded anew: the first run and the median
of the later ones, "warm"). Printed per mesh: the median first and warm CPU time of each tool and
the ratio of the extract to each baseline, per repeat and of the medians. Writes
``ratio_repeats.txt``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scaling  # noqa: E402
from pipeline import hemibrain_dir  # noqa: E402


def measure(path: Path, voxel: float, extract_args: tuple, tools: tuple[str, ...], repeats: int) -> dict:
    """First and warm CPU seconds of the extract and each baseline, one list entry per repeat."""
    runs: dict[str, dict[str, list]] = {t: {"first": [], "warm": []} for t in ("extract", *tools)}
    for _ in range(repeats):
        for tool in runs:  # alternate: each repeat runs every tool once, in turn
            args = ("extract", path, voxel, *extract_args) if tool == "extract" else (tool, path, voxel)
            r = scaling.spawn(*args, runs=6)
            if "error" in r:
                raise RuntimeError(f"{tool} on {path.name}: {r['error']}")
            runs[tool]["first"].append(r["cpu"])
            runs[tool]["warm"].append(r["warm"]["cpu"])
    return runs


def report(label: str, runs: dict) -> str:
    med = statistics.median
    ours = runs["extract"]
    line = f"{label:22s} extract {med(ours['first']):.2f} / {med(ours['warm']):.3f} s CPU"
    for tool, b in runs.items():
        if tool == "extract":
            continue
        per = [round(a / c, 2) for a, c in zip(ours["warm"], b["warm"])]
        per_first = [round(a / c, 2) for a, c in zip(ours["first"], b["first"])]
        line += (f" | {tool} {med(b['first']):.2f} / {med(b['warm']):.3f} s: ratio of medians "
                 f"{med(ours['first']) / med(b['first']):.2f} first, {med(ours['warm']) / med(b['warm']):.2f} warm "
                 f"(per repeat first {per_first}, warm {per})")
    return line


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "neurograph_scaling"))
    ap.add_argument("--out", default=str(HERE / "results"))
    opts = ap.parse_args()
    lines: list[str] = []

    def log(s: str) -> None:
        print(s, flush=True)
        lines.append(s)
        Path(opts.out, "ratio_repeats.txt").write_text("\n".join(lines) + "\n")

    Path(opts.out).mkdir(parents=True, exist_ok=True)
    import neurograph as ng

    log(f"neurograph {ng.__version__}; python {sys.version.split()[0]}; {os.cpu_count()} cores; load average at "
        f"start {os.getloadavg()[0]:.1f}; {opts.repeats} repeats, each tool in its own fresh process in turn; "
        "CPU s first / warm (median over repeats)")
    sizes = {family: (path, syn) for family, _, path, _, syn in
             scaling.prepare(Path(opts.cache), levels=1, synthetic_levels=1)}
    for family, (path, syn) in sizes.items():
        runs = measure(path, 1.0, (1, int(syn), "none"), ("skeletor", "skeliner"), opts.repeats)
        log(report(f"{family} {path.stem}", runs))
    for obj in sorted((hemibrain_dir() / "obj").glob("*.obj")):
        runs = measure(obj, 8.0, (0, 0, "none"), ("skeliner", "skeletor"), opts.repeats)
        log(report(f"hemibrain {obj.stem}", runs))
    log(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
