"""Time of the per-neuron QC picture, and of a mesh drawn as one image against one polygon per face.

Run: python benchmarks/qc_pictures.py [--out benchmarks/results]

Inputs: 10 FAFB skeletons (../shared/data, nm), the MICrONS example mesh (81k faces, nm, with its
synapses) and the same mesh subdivided to 4x and 16x the faces (the same surface), and a synthetic
spiny pyramidal neuron (``neurograph.synthetic``, always there). Each neuron is extracted once
(not timed); in brackets, the faces of the neuron's mesh, which is what is drawn (after repair and
``extract``'s resolution floor). Then, in this one process, alternating:

- ``qc_png``: the batch runner's QC picture (``neurograph.batch.tables.qc_png``: two projections,
  dendrogram, title, PNG at 72 dpi), median seconds per call;
- a figure with the xy and PCA projections of the mesh (``plot_neuron``) written as PNG at 72 dpi,
  with ``raster=True`` (the default: one shaded image, :mod:`neurograph.plot.raster`) and with
  ``raster=False`` (one matplotlib polygon per face, at most ``max_faces`` = 300k of them drawn:
  what every picture did before).

Writes ``qc_pictures.txt``.
"""

from __future__ import annotations

import argparse
import glob
import io
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from pipeline import SHARED  # noqa: E402

MICRONS = SHARED / "microns_neurd" / "864691135510518224_decimated_mesh.off"
SYNAPSES = SHARED / "microns_neurd" / "864691135510518224_synapses.csv"
FAFB = SHARED / "fafb_olfactory_pns" / "swc"


def neurons() -> list[tuple[str, list]]:
    """(label, neurons) for every input that is there."""
    import trimesh

    import neurograph as ng

    out = []
    files = sorted(glob.glob(str(FAFB / "*.swc")))[:10]
    if files:
        out.append(("FAFB skeletons (SWC)", [ng.load_swc(f, dataset="fafb") for f in files]))
    if MICRONS.exists():
        mesh = ng.load_mesh(MICRONS, voxel_size=1)
        v, f = np.asarray(mesh.vertices), np.asarray(mesh.faces)
        for level in range(3):
            kw = dict(synapses=SYNAPSES, synapse_voxel_size=(4, 4, 40)) if level == 0 else {}
            neuron = ng.extract(trimesh.Trimesh(v, f, process=False), voxel_size=1, **kw)
            out.append((f"MICrONS {len(f) / 1e3:,.0f}k faces ({len(neuron.mesh.faces) / 1e3:,.0f}k)", [neuron]))
            v, f = trimesh.remesh.subdivide(v, f)
    cell = ng.synthetic.make_neuron(3, "pyramidal", spines_per_um=1.5)
    neuron = ng.extract(cell.mesh)
    out.append((f"synthetic {len(cell.mesh.faces) / 1e3:,.0f}k faces ({len(neuron.mesh.faces) / 1e3:,.0f}k)", [neuron]))
    return out


def projections(neuron, raster: bool) -> None:
    """The two projections of the QC picture, written as PNG."""
    import matplotlib.pyplot as plt

    from neurograph.plot import plot_neuron

    fig, axes = plt.subplots(1, 2, figsize=(11, 5.5))
    try:
        for ax, view in zip(axes, ("xy", "pca")):
            plot_neuron(neuron, view, "compartment" if "compartment" in neuron.branches else "branch", ax=ax,
                        raster=raster)
        fig.savefig(io.BytesIO(), format="png", dpi=72)
    finally:
        plt.close(fig)


def median_time(fn, items: list) -> float:
    times = []
    for item in items:
        t0 = time.perf_counter()
        fn(item)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(HERE / "results"))
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import matplotlib

    matplotlib.use("Agg")
    from neurograph.batch.tables import qc_png

    lines = [f"$ python benchmarks/qc_pictures.py   ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})",
             f"{'input':32s} {'qc_png s':>9s} {'2 views, image s':>17s} {'2 views, polygons s':>20s}"]
    print(lines[-1], flush=True)
    for label, group in neurons():
        mesh = group[0].mesh is not None
        qc_png(group[0])  # first calls (kernels loaded, fonts cached) apart
        if mesh:
            projections(group[0], True)
            projections(group[0], False)
        rounds = 1 if len(group) > 1 else 3
        qc, image, polygons = [], [], []
        for _ in range(rounds):  # alternated, so that a busy minute hits both
            qc.append(median_time(qc_png, group))
            if mesh:
                image.append(median_time(lambda n: projections(n, True), group))
                polygons.append(median_time(lambda n: projections(n, False), group))
        views = f"{np.median(image):17.2f} {np.median(polygons):20.2f}" if mesh else f"{'-':>17s} {'-':>20s}"
        lines.append(f"{label:32s} {np.median(qc):9.2f} {views}")
        print(lines[-1], flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "qc_pictures.txt").write_text("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
