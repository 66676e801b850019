"""Spine detection against synthetic ground truth: precision, recall, shaft width, time.

Run: ``python benchmarks/spines.py [n_neurons] [shape] [--no-floor]`` (default 20 spiny neurons, sparse to
dense, plus smooth controls; then the real meshes: the Harris spiny dendrite segment, which also
redraws ``docs/spines_harris.png``, the MICrONS example cell and the hemibrain DA1 neurons).
With a ``shape`` (e.g. ``fragment``) only the neurons of that shape in the same list are run,
and not the real meshes: a quicker check of a change.
``--no-floor`` runs every mesh with ``extract(resolution=None)`` (no resolution floor, issue 13)
to measure the floor's effect. A detection matches a true spine when its base lies within 0.5 µm of
the true base (one-to-one, closest pairs first). Shaft width: per skeleton node of the
final skeleton, 2 x the detected shaft radius against 2 x the true radius at the nearest
point of the true branch axis; reported as the median over nodes and per branch (branches
> 5 µm: median width vs median true width). Spine head and neck widths of the matched spines
against twice the radii they were built with (necks of thin and mushroom spines only).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from scipy.spatial import cKDTree

import neurograph as ng
from neurograph import synthetic
from neurograph.spines.geometry import match_points

SHAPES = ["fragment", "fragment", "fragment", "bipolar"]
# extract(resolution=...): the default floor, or None with --no-floor
RESOLUTION = {"resolution": None} if "--no-floor" in sys.argv else {}


def true_axis(cell, spacing: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """Points along every true branch axis and the true radius there (nm)."""
    pts, rad = [], []
    for b, p in enumerate(cell.paths):
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
        t = np.arange(0, s[-1], spacing)
        pts.append(np.column_stack([np.interp(t, s, p[:, k]) for k in range(3)]))
        rad.append(np.interp(t, [0, s[-1]], [cell.branches.radius_start[b], cell.branches.radius_end[b]]))
    return np.vstack(pts), np.concatenate(rad)


def evaluate(cell, neuron) -> dict:
    """Precision, recall, false spines per µm, shaft width errors and branch counts."""
    sp = neuron.spines
    found = sp[["base_x", "base_y", "base_z"]].to_numpy()
    truth = cell.spines[["base_x", "base_y", "base_z"]].to_numpy()
    pairs = match_points(found, truth, 500.0)
    tp = len(pairs)
    pts, rad = true_axis(cell)
    sk = neuron.skeleton
    ok = np.isfinite(neuron.shaft_radius)
    _, j = cKDTree(pts).query(sk.vertices[ok])
    node_err = np.abs(neuron.shaft_radius[ok] / rad[j] - 1)
    br = neuron.branches
    branch_err = []
    nb = neuron.node_branch[ok]
    for b in br.index[br.length > 5]:
        m = nb == b
        if m.sum() >= 3:
            branch_err.append(abs(br.at[b, "shaft_width_median"] / (2 * np.median(rad[j[m]])) - 1))
    # widths of the matched spines against the diameters they were built with (necks: thin and
    # mushroom spines; a stubby spine's "neck" is its head)
    f_idx, t_idx = (pairs[:, 0], pairs[:, 1]) if tp else (np.empty(0, int), np.empty(0, int))
    true_sp = cell.spines.iloc[t_idx]
    necked = (true_sp.kind != "stubby").to_numpy()
    widths = {"head_width": (sp.head_width.to_numpy()[f_idx], 2 * true_sp.head_radius.to_numpy()),
              "neck_width": (sp.neck_width.to_numpy()[f_idx][necked], 2 * true_sp.neck_radius.to_numpy()[necked])}
    return {"widths": widths, "n_true": len(truth), "n_found": len(found), "tp": tp,
            "precision": tp / len(found) if len(found) else float("nan"),
            "recall": tp / len(truth) if len(truth) else float("nan"),
            "false_per_um": (len(found) - tp) / cell.total_length,
            "width_err_node_median": float(np.median(node_err)),
            "width_err_branch_median": float(np.median(branch_err)) if branch_err else float("nan"),
            "branches_within_10pct": float(np.mean(np.array(branch_err) < 0.10)) if branch_err else float("nan"),
            "n_branches": len(br), "n_branches_true": len(cell.branches)}


def run(shape: str, seed: int, density: float) -> dict:
    cell = synthetic.make_neuron(seed, shape, spines_per_um=density)
    t0 = time.perf_counter()
    # spines=False to time the two steps apart; protrusion twigs off, as extract(spines=True) has
    # them (spines=False alone turns them on, for fly meshes): the same tables as one extract call
    neuron = ng.extract(cell.mesh, voxel_size=1, name=f"{shape}_{seed}", spines=False, protrusion_ratio=0.0,
                        **RESOLUTION)
    t1 = time.perf_counter()
    neuron = ng.detect_spines(neuron)
    t2 = time.perf_counter()
    out = evaluate(cell, neuron)
    out.update(shape=shape, seed=seed, density=density, faces=len(cell.mesh.faces),
               faces_out=neuron.repair_report["faces_out"], t_extract=t1 - t0,
               t_spines=t2 - t1)
    return out


def main(n: int = 20, shape: str | None = None) -> None:
    import platform
    import os

    print(f"neurograph {ng.__version__}; python {platform.python_version()}; {os.cpu_count()} cores")
    print("shape      seed dens  faces  (processed) | true found  prec  recall false/µm | width err node/branch, "
          "branches <10% | branches (truth) | extract s spines s")
    rows = []
    densities = np.linspace(0.3, 3.0, n)
    cases = [(SHAPES[i % len(SHAPES)], i, float(d)) for i, d in enumerate(densities)]
    cases += [("fragment", 100, 0.0), ("bipolar", 101, 0.0), ("multipolar", 102, 0.0)]
    cases = [c for c in cases if shape is None or c[0] == shape]
    for shape, seed, density in cases:
        r = run(shape, seed, density)
        rows.append(r)
        print(f"{shape:10s} {seed:4d} {density:4.2f} {r['faces']:7d} ({r['faces_out']:7d}) | {r['n_true']:4d} {r['n_found']:5d} "
              f"{r['precision']:5.3f} {r['recall']:6.3f} {r['false_per_um']:7.3f} | "
              f"{r['width_err_node_median']:6.3f} {r['width_err_branch_median']:6.3f} {r['branches_within_10pct']:5.2f} | "
              f"{r['n_branches']:4d} ({r['n_branches_true']:3d}) | {r['t_extract']:6.2f} {r['t_spines']:6.2f}", flush=True)
    spiny = [r for r in rows if r["density"] > 0]
    tp = sum(r["tp"] for r in spiny)
    print(f"pooled over {len(spiny)} spiny neurons: precision {tp / sum(r['n_found'] for r in spiny):.3f}, "
          f"recall {tp / sum(r['n_true'] for r in spiny):.3f}; "
          f"per-neuron min precision {min(r['precision'] for r in spiny):.3f}, "
          f"min recall {min(r['recall'] for r in spiny):.3f}")
    print(f"median shaft width error: nodes {np.median([r['width_err_node_median'] for r in spiny]):.3f}, "
          f"branches {np.nanmedian([r['width_err_branch_median'] for r in rows]):.3f}; "
          f"branches within 10%: {np.nanmean([r['branches_within_10pct'] for r in rows]):.2f}")
    smooth = [r for r in rows if r["density"] == 0]
    print("smooth controls, false spines per µm: " + ", ".join(f"{r['shape']} {r['false_per_um']:.4f}" for r in smooth))
    from scipy.stats import spearmanr

    for col, what in [("head_width", "head width"), ("neck_width", "neck width (thin, mushroom)")]:
        got = np.concatenate([r["widths"][col][0] for r in spiny])
        true = np.concatenate([r["widths"][col][1] for r in spiny])
        ok = np.isfinite(got)
        print(f"{what} against the truth, pooled ({len(got)} matched spines): median ratio "
              f"{np.median(got[ok] / true[ok]):.3f}, |error| median {np.median(np.abs(got[ok] / true[ok] - 1)):.3f}, "
              f"Spearman {spearmanr(got[ok], true[ok]).statistic:.3f}, NaN {1 - ok.mean():.3f}")
    print(f"spine detection time: mean {np.mean([r['t_spines'] for r in rows]):.2f} s per neuron")


def real_data() -> None:
    """Real meshes: the Harris spiny dendrite segment (count, density, docs/spines_harris.png),
    the MICrONS example cell and the hemibrain DA1 neurons (fly: no true spines)."""
    import os
    from pathlib import Path

    from neurograph.plot.spines import plot_spines

    root = Path(__file__).resolve().parents[1]
    shared = root.parent / "shared" / "data"
    v = shared / "microns_neurd" / "harris_spiny_dendrite_vertices_um.txt"
    f = shared / "microns_neurd" / "harris_spiny_dendrite_faces.txt"
    if v.exists() and f.exists():
        t0 = time.perf_counter()
        neuron = ng.extract((np.loadtxt(v) * 1000.0, np.loadtxt(f, dtype=np.int64)), voxel_size=1, name="harris",
                            **RESOLUTION)
        sp, length = neuron.spines, float(neuron.branches.length.sum())
        print(f"Harris spiny dendrite segment: {len(sp)} spines on {length:.2f} µm of shaft "
              f"({len(sp) / length:.2f} per µm), {len(neuron.branches)} branch(es); "
              f"length {sp.length.min():.2f}-{sp.length.max():.2f} µm, volume {sp.volume.min():.3f}-"
              f"{sp.volume.max():.3f} µm³, head width median {sp.head_width.median():.0f} nm, "
              f"neck width median {sp.neck_width.median():.0f} nm, shaft width "
              f"{neuron.branches.shaft_width_median.median():.0f} nm; {time.perf_counter() - t0:.1f} s")
        plot_spines(neuron, root / "docs" / "spines_harris.png")
    else:
        print("Harris spiny dendrite: not present")
    micron = shared / "microns_neurd" / "864691135510518224_decimated_mesh.off"
    if micron.exists():
        t0 = time.perf_counter()
        neuron = ng.extract(micron, voxel_size=1, **RESOLUTION)
        length = float(neuron.branches.length.sum())
        print(f"MICrONS {micron.name}: {len(neuron.spines)} spines on {length:.0f} µm "
              f"({len(neuron.spines) / length:.2f} per µm), {len(neuron.branches)} branches, "
              f"median spine length {neuron.spines.length.median():.2f} µm, volume "
              f"{neuron.spines.volume.median():.3f} µm³; {time.perf_counter() - t0:.1f} s")
    try:
        import navis

        obj = Path(os.path.dirname(navis.__file__)) / "data" / "obj"
    except ImportError:
        obj = None
    if obj is not None and obj.exists():
        print("hemibrain DA1 (fly neurons, no true spines: the counts are short terminal twigs)")
        for path in sorted(obj.glob("*.obj")):
            neuron = ng.extract(path, voxel_size=8, spines=False)
            with warnings.catch_warnings():  # on purpose: the fly twigs, protrusion twigs included, are counted
                warnings.filterwarnings("ignore", message=".*protrusion twigs", category=ng.NeurographWarning)
                neuron = ng.detect_spines(neuron, fold=False)
            sp = neuron.spines
            length = float(neuron.branches.length.sum())
            print(f"  {path.stem}: {len(sp)} twig-like protrusions on {length:.0f} µm "
                  f"({len(sp) / length:.2f} per µm)")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--no-floor"]
    main(int(args[0]) if args else 20, args[1] if len(args) > 1 else None)
    if len(args) <= 1:
        real_data()
