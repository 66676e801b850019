"""Compartment, synapse and perisomatic benchmark.

- synthetic neurons (known axon, dendrites, spines, synapses): compartment accuracy by cable
  length, with and without synapses;
- the 5 hemibrain DA1 neurons (navis example data): agreement with navis' split_axon_dendrite
  (synapse flow centrality on the navis skeletons with their connectors), mapped onto our
  skeleton by nearest node, on cable navis labels axon or dendrite (its "linker" is excluded);
- the MICrONS double-soma mesh 864691135510518224 with its 965 synapses: where pre/post sites
  land, perisomatic features of both somata, agreement with NEURD's labels (second opinion).

Run: ``python benchmarks/compartments.py [--quick]``.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

import neurograph as ng
from neurograph.synthetic import make_neuron, sample_synapses, truth_compartments

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
NAME = {1: "soma", 2: "axon", 3: "dendrite", 4: "apical"}



def synapse_scores(syn):
    """(is presynaptic, share of presynaptic sites on axon, share of postsynaptic sites on dendrite/soma)."""
    pre = syn.direction == "pre"
    on_axon = (syn.loc[pre, "compartment"] == "axon").mean()
    on_dend = syn.loc[~pre, "compartment"].isin(["dendrite", "apical", "basal", "soma"]).mean()
    return pre, on_axon, on_dend

def edges(neuron):
    """Midpoints, lengths (nm) and our labels of every non-root skeleton edge."""
    sk = neuron.skeleton
    has = np.flatnonzero(sk.parent >= 0)
    mid = 0.5 * (sk.vertices[has] + sk.vertices[sk.parent[has]])
    length = np.linalg.norm(sk.vertices[has] - sk.vertices[sk.parent[has]], axis=1)
    ours = np.array([NAME.get(int(c), "?") for c in sk.node_type[has]], dtype=object)
    return mid, length, ours


def coarse(labels):
    return np.where(np.isin(labels, ["apical", "basal"]), "dendrite", labels)


def synthetic(quick: bool) -> None:
    print("== synthetic neurons: compartment accuracy (fraction of cable, soma excluded) ==")
    print("   axon/dendrite | with apical vs other dendrite | pre on axon, post on dendrite/spine/soma")
    seeds = range(1) if quick else range(3)
    for shape, spines in (("pyramidal", 1.0), ("multipolar", 0.0), ("bipolar", 0.0), ("multipolar", 1.0)):
        for seed in seeds:
            cell = make_neuron(seed, shape, spines_per_um=spines)
            neuron = ng.extract(cell.mesh, voxel_size=1, name=f"{shape}{seed}")
            res = []
            for use in (False, True):
                if use:
                    neuron = ng.map_synapses(neuron, sample_synapses(cell, seed))
                neuron = ng.label_compartments(neuron, use_synapses=use)
                mid, length, ours = edges(neuron)
                truth = truth_compartments(cell, mid)
                keep = (truth != "soma") & (ours != "soma")
                acc = (length * (coarse(ours) == coarse(truth)))[keep].sum() / length[keep].sum()
                fine = np.where(ours == "apical", "apical", coarse(ours))
                acc4 = (length * (fine == truth))[keep].sum() / length[keep].sum()
                res.append((acc, acc4))
            syn = neuron.synapses
            pre = (syn.loc[syn.direction == "pre", "compartment"] == "axon").mean()
            post = syn.loc[syn.direction == "post", "compartment"].isin(["dendrite", "apical", "basal", "soma"]).mean()
            print(f"{shape:10s} seed {seed} spines {spines:.0f}/µm | no synapses {res[0][0]:.3f} (apical-level "
                  f"{res[0][1]:.3f}) | synapses {res[1][0]:.3f} ({res[1][1]:.3f}) | {len(syn)} synapses: pre on "
                  f"axon {pre:.3f}, post on dendrite {post:.3f}, on spines {syn.on_spine.mean():.2f}")


def hemibrain() -> None:
    import navis

    data = os.path.join(os.path.dirname(navis.__file__), "data")
    print("\n== hemibrain DA1: agreement with navis.split_axon_dendrite (fraction of cable navis labels "
          "axon or dendrite) ==")
    skeletons = {str(n.id): n for n in navis.example_neurons(5, kind="skeleton")}
    for nid, x in skeletons.items():
        t0 = time.perf_counter()
        neuron = ng.extract(os.path.join(data, "obj", f"{nid}.obj"), voxel_size=8, spines=False,  # fly
                            synapses=os.path.join(data, "synapses", f"{nid}.csv"), synapse_voxel_size=8)
        secs = time.perf_counter() - t0
        if x.n_trees > 1:
            x = navis.heal_skeleton(x)
        split = navis.split_axon_dendrite(x, label_only=True).nodes
        tree = cKDTree(split[["x", "y", "z"]].to_numpy(float) * 8.0)  # navis skeletons are in 8 nm voxels
        theirs_all = split["compartment"].to_numpy()
        out = []
        for use in (True, False):
            neuron = ng.label_compartments(neuron, use_synapses=use)
            mid, length, ours = edges(neuron)
            _, idx = tree.query(mid)
            theirs = theirs_all[idx]
            keep = np.isin(theirs, ["axon", "dendrite"]) & (ours != "soma")
            out.append((length * (coarse(ours) == theirs))[keep].sum() / length[keep].sum())
            excluded = length[~np.isin(theirs, ["axon", "dendrite"])].sum() / length.sum()
            if use:
                syn = neuron.synapses
                pre = (syn.loc[syn.direction == "pre", "compartment"] == "axon").mean()
                post = (syn.loc[syn.direction == "post", "compartment"] != "axon").mean()
        print(f"{nid:>10}: with synapses {out[0]:.3f}, geometry only {out[1]:.3f} | navis linker excluded "
              f"{excluded:.2f} of cable | {len(neuron.synapses)} synapses, {neuron.synapse_report['n_unmapped']} "
              f"beyond 1 µm, median {neuron.synapse_report['median_distance_nm']:.0f} nm from mesh | pre on axon "
              f"{pre:.2f}, post off axon {post:.2f} | {secs:.1f} s")


def microns() -> None:
    stem = os.path.join(SHARED, "microns_neurd", "864691135510518224")
    if not os.path.exists(stem + "_decimated_mesh.off"):
        print("\nMICrONS data not found; skipped")
        return
    print("\n== MICrONS 864691135510518224 (double-soma merge) with its synapses ==")
    t0 = time.perf_counter()
    neuron = ng.extract(stem + "_decimated_mesh.off", voxel_size=1, synapses=stem + "_synapses.csv",
                        synapse_voxel_size=(4, 4, 40))
    print(f"extract + synapses + compartments {time.perf_counter() - t0:.1f} s; synapse report {neuron.synapse_report}")
    for use in (True, False):
        neuron = ng.label_compartments(neuron, use_synapses=use)
        syn = neuron.synapses
        pre, on_axon, on_dend = synapse_scores(syn)
        lengths = neuron.branches.groupby("compartment")["length"].sum().round(1).to_dict()
        print(f"{'with synapses' if use else 'geometry only'}: {pre.sum()} pre, {on_axon:.3f} on axon | "
              f"{(~pre).sum()} post, {on_dend:.3f} on dendrite/spine/soma | cable µm {lengths}")
        if use:
            somatic = syn.loc[~pre, "soma"].value_counts().to_dict()
            print(f"    postsynaptic sites on soma 0/1: {somatic.get(0, 0)}/{somatic.get(1, 0)}")
            keep_labels = neuron.skeleton.node_type.copy()
    neuron.skeleton.node_type = keep_labels
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print("perisomatic features (depth along +y, µm):")
        print(ng.soma_features(neuron).T.to_string())
    swc = stem + "_neurd_skeleton.swc"
    if os.path.exists(swc):
        neurd = pd.read_csv(swc, sep=r"\s+")
        pts = neurd[["x", "y", "z"]].to_numpy(float) * 1e3
        mid, length, ours = edges(neuron)
        ours = coarse(ours)
        best = None
        for i, s in enumerate(neuron.somas):
            d, _ = cKDTree(mid).query(pts + s.center)
            if best is None or np.median(d) < best[1]:
                best = (i, float(np.median(d)))
        i, med = best
        d, idx = cKDTree(pts + neuron.somas[i].center).query(mid)
        theirs = np.array([NAME.get(int(t), "?") for t in neurd["type"].to_numpy()[idx]], dtype=object)
        theirs = coarse(theirs)
        near = (d <= 5000) & (ours != "soma") & np.isin(theirs, ["axon", "dendrite"])
        agree = (length * (ours == theirs))[near].sum() / length[near].sum()
        ax = near & (theirs == "axon")
        print(f"NEURD labels (second opinion, not truth): NEURD skeleton centred on our soma {i} (median node "
              f"distance {med / 1e3:.2f} µm); {length[near].sum() / 1e3:.0f} µm of our cable within 5 µm of NEURD "
              f"nodes ({length[near].sum() / length.sum():.2f}); agreement {agree:.3f}; NEURD axon cable there "
              f"{length[ax].sum() / 1e3:.0f} µm, of it labelled axon by us "
              f"{(length * (ours == 'axon'))[ax].sum() / max(length[ax].sum(), 1):.3f}")


def main() -> None:
    warnings.filterwarnings("ignore")
    quick = "--quick" in sys.argv
    print(f"neurograph {ng.__version__}; {os.cpu_count()} cores")
    t0 = time.perf_counter()
    synthetic(quick)
    hemibrain()
    microns()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
