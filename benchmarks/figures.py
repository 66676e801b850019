"""Regenerate the README pictures in ``docs/`` (issue #7).

``python benchmarks/figures.py [--out docs]`` (from the project root) writes

- ``docs/microns_compartments.png``: the MICrONS double-soma mesh 864691135510518224 (nm) with
  its 965 synapses (voxels of 4 x 4 x 40 nm), coloured by compartment, somata circled,
  presynaptic / postsynaptic sites and spines marked, a whole-cell view and a 24 µm zoom on a
  spiny dendrite. Needs ``../shared/data/microns_neurd`` (skipped with a message otherwise).
- ``docs/hemibrain_compartments.png``: hemibrain DA1 projection neuron 1734350788 (navis
  example data, 8 nm voxels, installs with navis) with its synapses, coloured by compartment,
  beside its dendrogram.

About 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import neurograph as ng  # noqa: E402
from neurograph.plot import COMPARTMENT_COLORS, plot_dendrogram, plot_neuron  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MICRONS = ROOT.parent / "shared" / "data" / "microns_neurd" / "864691135510518224"
HEMIBRAIN_ID = "1734350788"
PRE = dict(marker="^", c="black", s=22, edgecolors="white", linewidths=0.4, zorder=5)
POST = dict(marker="o", c="darkorange", s=5, edgecolors="none", alpha=0.75, zorder=4)
SPINE = dict(marker="o", c="gold", s=4, edgecolors="black", linewidths=0.5, zorder=3)


def compartment_handles(neuron) -> list:
    present = list(dict.fromkeys(["soma", *neuron.branches["compartment"].astype(str)]))
    order = [c for c in ("soma", "axon", "dendrite", "basal", "apical") if c in present]
    names = {c: c for c in order}
    if "dendrite" in names and "basal" in names:  # same colour: one entry
        names["basal"] = "basal / dendrite (no apical split)"
        del names["dendrite"]
    return [Line2D([], [], marker="s", ls="", ms=8, color=COMPARTMENT_COLORS[c], label=label)
            for c, label in names.items()]


def overlay(ax, neuron, basis: np.ndarray, spines: bool = True, scale: float = 1.0) -> list:
    """Synapses (pre ▲, post ●) and spine bases on top of a projection; returns legend handles."""
    handles = []
    syn = neuron.synapses
    if spines and neuron.spines is not None and len(neuron.spines):
        q = neuron.spines[["base_x", "base_y", "base_z"]].to_numpy(float) @ basis / 1e3
        ax.scatter(q[:, 0], q[:, 1], **{**SPINE, "s": SPINE["s"] * scale})
        handles.append(Line2D([], [], marker="o", ls="", color="gold", mec="black", label=f"spine bases ({len(q)})"))
    if syn is not None and len(syn):
        q = syn[["x", "y", "z"]].to_numpy(float) @ basis / 1e3
        post = (syn["direction"] == "post").to_numpy()
        ax.scatter(q[post, 0], q[post, 1], **{**POST, "s": POST["s"] * scale})
        ax.scatter(q[~post, 0], q[~post, 1], **{**PRE, "s": PRE["s"] * scale ** 0.5})
        handles.append(Line2D([], [], marker="o", ls="", color="darkorange", label=f"postsynaptic ({post.sum()})"))
        handles.append(Line2D([], [], marker="^", ls="", color="black", label=f"presynaptic ({(~post).sum()})"))
    return handles


def scale_bar(ax, length_um: float, where: str = "lower left") -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    w, h = x1 - x0, y1 - y0
    bx = x0 + 0.05 * w
    by = y0 + 0.05 * h if where == "lower left" else y1 - 0.05 * h
    ax.plot([bx, bx + length_um], [by, by], color="black", lw=3, solid_capstyle="butt", zorder=6)
    ax.text(bx + length_um / 2, by + 0.015 * h, f"{length_um:g} µm", ha="center", va="bottom", fontsize=9)


def strip_auto_bar(ax) -> None:
    """Remove plot_neuron's automatic scale bar (we draw our own after changing the limits)."""
    for line in list(ax.lines):
        line.remove()
    for text in list(ax.texts):
        text.remove()


def spiny_spot(neuron, basis: np.ndarray, half: float) -> np.ndarray:
    """Centre (µm, in the view) of the 2*half-µm square holding the most spines and synapses
    away from the somata."""
    pts = np.vstack([neuron.spines[["base_x", "base_y", "base_z"]].to_numpy(float),
                     neuron.synapses[["x", "y", "z"]].to_numpy(float)]) @ basis / 1e3
    somas = np.array([s.center for s in neuron.somas]) @ basis / 1e3
    best, centre = -1, pts[0]
    for p in pts[:: max(1, len(pts) // 400)]:
        if np.min(np.linalg.norm(somas - p, axis=1)) < 2 * half:
            continue
        count = int(np.sum(np.all(np.abs(pts - p) <= half, axis=1)))
        if count > best:
            best, centre = count, p
    return centre


def microns_figure(out: Path) -> None:
    off, table = Path(f"{MICRONS}_decimated_mesh.off"), Path(f"{MICRONS}_synapses.csv")
    if not off.exists():
        print(f"{off} not found: docs/microns_compartments.png skipped")
        return
    t0 = time.perf_counter()
    neuron = ng.extract(off, voxel_size=1, synapses=table, synapse_voxel_size=(4, 4, 40),
                        compartments={"pia": (0, -1, 0)},  # minnie65: y is cortical depth
                        name="MICrONS 864691135510518224")
    print(f"MICrONS: extract + synapses + compartments {time.perf_counter() - t0:.1f} s; {neuron}")
    lengths = neuron.branches.groupby("compartment")["length"].sum()
    print("  cable per compartment (µm):", lengths.round(1).to_dict())
    syn = neuron.synapses
    print("  synapses per compartment:", syn.groupby(["direction", "compartment"]).size().to_dict())
    print(f"  spines: {len(neuron.spines)}; somata radius (µm): {[round(s.radius / 1e3, 2) for s in neuron.somas]}")

    fig, (ax, zoom) = plt.subplots(1, 2, figsize=(17, 9), gridspec_kw=dict(width_ratios=[1.25, 1]))
    basis = np.zeros((3, 2))
    basis[0, 0] = basis[1, 1] = 1.0  # x right, y = cortical depth (pia up after inverting)
    for a in (ax, zoom):
        plot_neuron(neuron, "xy", "compartment", ax=a, spines=False, synapses=False, title="")
        strip_auto_bar(a)
        if a.get_legend() is not None:
            a.get_legend().remove()
    handles = overlay(ax, neuron, basis, spines=False)
    for i, s in enumerate(neuron.somas):
        ax.annotate(f"soma {i}\n{s.radius / 1e3:.1f} µm", s.center[:2] / 1e3, xytext=(-45, -30), textcoords="offset points",
                    fontsize=9, arrowprops=dict(arrowstyle="-", lw=0.8))
    ax.invert_yaxis()
    scale_bar(ax, 20, "lower left")
    half = 12.0
    c = spiny_spot(neuron, basis, half)
    ax.add_patch(Rectangle((c[0] - half, c[1] - half), 2 * half, 2 * half, fill=False, ec="black", ls="--", lw=1))
    ax.legend(handles=compartment_handles(neuron) + handles, loc="lower right", fontsize=9, framealpha=0.9)
    ax.set_title(f"{len(neuron.somas)} somata (circled), {lengths.sum():.0f} µm of cable; "
                 f"x (µm) vs y = cortical depth (µm, pia up)", fontsize=10)
    zoom_handles = overlay(zoom, neuron, basis, spines=True, scale=4.0)
    zoom.set_xlim(c[0] - half, c[0] + half)
    zoom.set_ylim(c[1] + half, c[1] - half)
    scale_bar(zoom, 5, "lower left")
    zoom.set_title(f"dashed box, {2 * half:.0f} µm: spine bases (gold), synapses", fontsize=10)
    zoom.legend(handles=compartment_handles(neuron) + zoom_handles, loc="center right", fontsize=9, framealpha=0.9)
    fig.suptitle("MICrONS minnie65 segment 864691135510518224 (a two-cell merge): compartments from "
                 "neurograph.extract(..., synapses=...)", fontsize=12)
    fig.tight_layout()
    fig.savefig(out / "microns_compartments.png", dpi=90)
    plt.close(fig)
    print(f"  wrote {out / 'microns_compartments.png'}")


def hemibrain_figure(out: Path) -> None:
    import navis

    data = Path(navis.__file__).parent / "data"
    obj = data / "obj" / f"{HEMIBRAIN_ID}.obj"
    table = data / "synapses" / f"{HEMIBRAIN_ID}.csv"
    t0 = time.perf_counter()
    # the hemibrain profile: 8 nm voxels, no spine detection, the insect compartment rules (axon and
    # dendrite; no apical/basal, which are the vertebrate rules' default without a profile)
    neuron = ng.extract(obj, dataset="hemibrain", synapses=table, synapse_voxel_size=8,
                        name=f"hemibrain DA1 lPN {HEMIBRAIN_ID}")
    print(f"hemibrain: extract + synapses + compartments {time.perf_counter() - t0:.1f} s; {neuron}")
    lengths = neuron.branches.groupby("compartment")["length"].sum()
    print("  cable per compartment (µm):", lengths.round(1).to_dict())
    print("  synapses per compartment:", neuron.synapses.groupby(["direction", "compartment"]).size().to_dict())

    fig, (ax, zoom, dax) = plt.subplots(1, 3, figsize=(21, 7.5), gridspec_kw=dict(width_ratios=[1.1, 1, 1]))
    basis = np.zeros((3, 2))
    basis[0, 0] = basis[1, 1] = 1.0
    for a in (ax, zoom):
        plot_neuron(neuron, "xy", "compartment", ax=a, spines=False, synapses=False, title="")
        strip_auto_bar(a)
        if a.get_legend() is not None:
            a.get_legend().remove()
    handles = overlay(ax, neuron, basis, spines=False, scale=0.6)
    ax.invert_yaxis()  # hemibrain y points ventral: dorsal up
    scale_bar(ax, 20, "lower left")
    ax.legend(handles=compartment_handles(neuron) + handles, loc="center left", fontsize=9, framealpha=0.9)
    ax.set_title("front view: x (µm) vs y (µm, dorsal up); soma circled", fontsize=10)
    # zoom on the dendrite (antennal lobe glomerulus) around the soma
    dend = neuron.skeleton.vertices[neuron.skeleton.node_type == 3] @ basis / 1e3
    lo, hi = dend.min(axis=0) - 3, dend.max(axis=0) + 3
    side = max(hi - lo)
    mid = (lo + hi) / 2
    ax.add_patch(Rectangle(tuple(mid - side / 2), side, side, fill=False, ec="black", ls="--", lw=1))
    overlay(zoom, neuron, basis, spines=False, scale=1.5)
    zoom.set_xlim(mid[0] - side / 2, mid[0] + side / 2)
    zoom.set_ylim(mid[1] + side / 2, mid[1] - side / 2)
    scale_bar(zoom, 5, "lower left")
    zoom.set_title("dashed box: soma, dendrite and the axon's start", fontsize=10)
    plot_dendrogram(neuron, "compartment", ax=dax, title="dendrogram (x: path from the soma, µm)")
    fig.suptitle(f"hemibrain DA1 projection neuron {HEMIBRAIN_ID} (navis example mesh, 8 nm voxels) with its "
                 f"{len(neuron.synapses)} synapses: axon = calyx + lateral horn, dendrite = antennal lobe", fontsize=12)
    fig.tight_layout()
    fig.savefig(out / "hemibrain_compartments.png", dpi=90)
    plt.close(fig)
    print(f"  wrote {out / 'hemibrain_compartments.png'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs"), help="output folder (default: docs/)")
    args = parser.parse_args()
    out = Path(args.out)
    os.makedirs(out, exist_ok=True)
    hemibrain_figure(out)
    microns_figure(out)


if __name__ == "__main__":
    main()
