"""Radius-less skeletons (CAVE skeleton service / pcg_skel style): compartment accuracy.

Synthetic neurons (``neurograph.synthetic``) are exported as their true centre-line skeleton,
resampled to ~2 µm node spacing with nodes jittered off the axis by 0.3 x the local radius (like
level-2 chunk centroids), written to SWC in nm **with and without radii** (radius column 0) and
loaded back with ``load_swc(units="nm")``. Synapses sit on the true membrane (shaft surface,
spine heads, soma surface). Accuracies are fractions of cable (soma excluded):

- ``axon/dend``: axon vs dendrite (apical/basal count as dendrite);
- ``apical``: fraction of the true apical cable labelled apical (pyramidal cells);
- ``basal->apical``: fraction of the true non-apical dendrite labelled apical (false positives).

Real data (labels from the reconstructors, radii dropped and resampled to 2 µm, not tuned on):
Allen Cell Types SWCs (µm, types 2 axon / 3 basal / 4 apical), with and without radii. These
files are in slice image coordinates, not rotated upright: the pia lies roughly towards -y
(image rows grow with depth) but tilted by up to ~45 degrees per cell; ``pia=(0, -1, 0)`` is used
for every cell as a user would, without a per-cell correction.

Run: ``python benchmarks/radiusless.py [--quick]``; output in benchmarks/results/radiusless.txt.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings

import numpy as np
import pandas as pd

import neurograph as ng
from neurograph.graph.swc import swc_skeleton
from neurograph.io.swc import read_swc, write_swc
from neurograph.skeleton.resample import resample
from neurograph.synthetic import make_neuron, sample_synapses, truth_compartments, truth_skeleton

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compartments import NAME, coarse, edges  # noqa: E402  (the compartment benchmark's helpers)

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")


def scores(length, ours, truth):
    """axon/dendrite accuracy, apical recall, apical false-positive rate (fractions of cable)."""
    keep = (truth != "soma") & (ours != "soma")
    ad = (length * (coarse(ours) == coarse(truth)))[keep].sum() / length[keep].sum()
    ap = truth == "apical"
    rec = (length * (ours == "apical"))[keep & ap].sum() / length[keep & ap].sum() if (keep & ap).any() else np.nan
    other = keep & ~ap & (coarse(truth) == "dendrite")
    fp = (length * (ours == "apical"))[other].sum() / length[other].sum() if other.any() else np.nan
    return ad, rec, fp


def synthetic_cells(quick: bool):
    cells = [("pyramidal", s, 1.0) for s in range(4 if not quick else 2)]
    cells += [("pyramidal", s, 0.0) for s in range(4, 7 if not quick else 5)]
    cells += [("multipolar", s, 0.0) for s in range(2 if not quick else 1)]
    cells += [("bipolar", 0, 0.0)]
    return cells


def synthetic(quick: bool, tmp: str) -> None:
    print("== synthetic neurons as ~2 µm SWC skeletons (nm), radii kept vs dropped ==")
    print("   accuracy: axon/dendrite | apical recall / basal->apical | method")
    rows = []
    for shape, seed, spines in synthetic_cells(quick):
        cell = make_neuron(seed, shape, spines_per_um=spines)
        # the model grows a pyramidal cell's apical along +z before its random rotation; for the
        # other shapes this direction means nothing (any apical there is a false one)
        apical_dir = cell.transform[:3, :3] @ np.array([0.0, 0.0, 1.0])
        syn = sample_synapses(cell, seed)
        for radii in (True, False):
            sk = truth_skeleton(cell, radii=radii, spacing=2000.0, jitter=0.3, seed=seed)
            path = os.path.join(tmp, f"{shape}{seed}_{int(radii)}.swc")
            write_swc(sk.to_swc(units="nm"), path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                neuron = ng.load_swc(path, units="nm")
                neuron = ng.map_synapses(neuron, syn)
            mapped = neuron.synapse_report["n_mapped"] / neuron.synapse_report["n_synapses"]
            for use, pia in [(u, p) for u in (False, True) for p in (None, apical_dir)]:
                neuron = ng.label_compartments(neuron, use_synapses=use, pia=pia)
                table = ng.compartment_table(neuron)
                mid, length, ours = edges(neuron)
                ad, rec, fp = scores(length, ours, truth_compartments(cell, mid))
                methods = "/".join(sorted(set(table["compartment_method"]) - {"soma"}))
                ap_m = "/".join(sorted(set(table["apical_method"]) - {""})) or "-"
                rows.append(dict(cell=f"{shape}{seed}", shape=shape, radii=radii, synapses=use, pia=pia is not None,
                                 axon_dendrite=ad, apical=rec, false_apical=fp, mapped=mapped,
                                 method=methods, apical_method=ap_m))
                print(f"{shape:10s} {seed} spines {spines:.0f} radii {'yes' if radii else 'no ':3s} "
                      f"synapses {'yes' if use else 'no ':3s} pia {'yes' if pia is not None else 'no ':3s} | "
                      f"{ad:.3f} | {rec:.3f} / {fp:.3f} | {methods} {ap_m} | synapses mapped {mapped:.3f}")
    df = pd.DataFrame(rows)
    print("\nmeans over cells (apical: pyramidal cells; false_apical: fraction of the other dendrite "
          "labelled apical, all cells):")
    summ = df.groupby(["radii", "synapses", "pia"]).agg(
        axon_dendrite=("axon_dendrite", "mean"), axon_dendrite_min=("axon_dendrite", "min"),
        apical=("apical", "mean"), apical_min=("apical", "min"), false_apical=("false_apical", "mean"),
        n=("cell", "count"))
    with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
        print(summ.to_string())


def allen_cells(folder: str, ids, tmp: str) -> pd.DataFrame:
    """Accuracies of one set of Allen cells, radii kept / dropped, pia none / -y, no synapses."""
    rows = []
    for sid in ids:
        sk, _ = swc_skeleton(read_swc(os.path.join(folder, "swc", f"{sid}.swc"), units="um"), name=str(sid))
        for radii in (True, False):
            s2 = resample(sk, 2000.0, keep_soma_edges=True)
            if not radii:
                s2.radius[:] = np.nan
            path = os.path.join(tmp, f"allen_{sid}_{int(radii)}.swc")
            write_swc(s2.to_swc(units="nm"), path)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                neuron = ng.load_swc(path, units="nm")
            truth_node = neuron.skeleton.node_type.copy()
            has = np.flatnonzero(neuron.skeleton.parent >= 0)
            truth = np.array([NAME.get(int(c), "?") for c in truth_node[has]], dtype=object)
            for pia in (None, (0.0, -1.0, 0.0)):
                neuron = ng.label_compartments(neuron, use_synapses=False, pia=pia)
                _, length, ours = edges(neuron)
                ok = truth != "?"
                ad, rec, fp = scores(length[ok], ours[ok], truth[ok])
                rows.append(dict(cell=sid, radii=radii, pia=pia is not None, axon_dendrite=ad, apical=rec,
                                 false_apical=fp))
    return pd.DataFrame(rows)


def allen(limit: int, tmp: str) -> None:
    folder = os.path.join(SHARED, "allen_celltypes_509")
    if not os.path.isdir(folder):
        print("\nAllen data not found; skipped")
        return
    labels = pd.read_csv(os.path.join(folder, "labels.csv")).sort_values("specimen_id")
    sets = {
        "dendrite-only spiny, apical intact (no axon reconstructed)":
            labels[(labels.reconstruction_type == "dendrite-only") & (labels.dendrite_type == "spiny")
                   & (labels.apical == "intact")].specimen_id.head(limit),
        "full spiny (with the axon, no synapses to find it)":
            labels[(labels.reconstruction_type == "full") & (labels.dendrite_type == "spiny")].specimen_id,
        "full aspiny (interneurons: any apical is false)":
            labels[(labels.reconstruction_type == "full") & (labels.dendrite_type == "aspiny")].specimen_id.head(limit),
    }
    print("\n== Allen Cell Types (first cells by id), resampled to 2 µm, no synapses; truth = the reconstructors' "
          "SWC types; pia = -y (slice image coordinates, not upright) ==")
    for title, ids in sets.items():
        df = allen_cells(folder, ids, tmp)
        print(f"-- {title}: {len(ids)} cells")
        with pd.option_context("display.width", 200, "display.float_format", "{:.3f}".format):
            print(df.groupby(["radii", "pia"])[["axon_dendrite", "apical", "false_apical"]]
                  .agg(["mean", "median"]).to_string())


def main() -> None:
    quick = "--quick" in sys.argv
    t0 = time.perf_counter()
    print(f"neurograph {ng.__version__ if hasattr(ng, '__version__') else ''}; {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        synthetic(quick, tmp)
        allen(10 if quick else 30, tmp)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
