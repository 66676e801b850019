"""Dataset profiles, the insect-twig warning and the geometry-only insect axon.

- hemibrain DA1 meshes (navis example data) with ``dataset="hemibrain"`` and nothing else:
  cable against the reference SWCs, somata against their soma nodes, geometry-only axon
  labels against navis' synapse-based ``split_axon_dendrite`` (cable navis calls axon or
  dendrite; its "linker" is excluded); the same meshes without a profile (``voxel_size=8``
  only): the warning and its statistics;
- MICrONS 864691135510518224 with its synapses, without a profile and with ``dataset="microns"``;
  the Harris spiny dendrite without a profile (warning statistics);
- synthetic neurons: ``unipolar`` (insect-like, exact truth) with ``dataset="flywire"`` (meshes in
  nm) and with no profile at all; spiny pyramidal cells without a profile (no warning);
- FAFB olfactory PN skeletons (``load_swc(dataset="fafb")``, no synapses): where the axon found by
  geometry lies (qualitative: PN dendrites are in the antennal lobe near the soma, axons in the
  calyx and lateral horn, far from it).

Run: ``python benchmarks/profiles.py [--quick]`` (output: benchmarks/results/profiles.txt).
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

import neurograph as ng
from neurograph.synthetic import labelled_edges as edges, make_neuron, sample_synapses, truth_compartments

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compartments import synapse_scores  # noqa: E402  (the compartment benchmark's helper)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def extract_warned(*args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        neuron = ng.extract(*args, **kwargs)
    return neuron, any(issubclass(w.category, ng.InsectTwigWarning) for w in caught)


def check_text(neuron) -> str:
    c = neuron.settings.get("spine_check") or {}
    if not c:
        return "spine detection off"
    return (f"{c['n_spines']} spines, folded share {c['folded_share']:.2f}, carrier branch median "
            f"{c['carrier_length_um']:.1f} µm, {c['carrier_density']:.2f} spines/µm of carrier")


def hemibrain() -> None:
    import navis

    data = Path(os.path.dirname(navis.__file__)) / "data"
    print("== hemibrain DA1 meshes ==")
    print("   with dataset='hemibrain' only | geometry-only axon vs navis split_axon_dendrite (synapses) | "
          "without a profile (voxel_size=8 only)")
    for x in navis.example_neurons(5, kind="skeleton"):
        nid = str(x.id)
        ref = navis.read_swc(data / "swc" / f"{nid}.swc")
        t0 = time.perf_counter()
        neuron = ng.extract(data / "obj" / f"{nid}.obj", dataset="hemibrain", compartments=True)
        secs = time.perf_counter() - t0
        cable = neuron.skeleton.cable_length / (float(ref.cable_length) * 8)
        soma = "no soma in reference"
        if ref.soma is not None:
            pos = ref.nodes.set_index("node_id").loc[[ref.soma] if np.isscalar(ref.soma) else ref.soma,
                                                       ["x", "y", "z"]].to_numpy(float) * 8
            d = min((np.linalg.norm(s.center - pos[0]) for s in neuron.somas), default=np.inf)
            soma = f"soma {d / 1e3:.2f} µm from reference"
        healed = navis.heal_skeleton(x) if x.n_trees > 1 else x
        split = navis.split_axon_dendrite(healed, label_only=True).nodes
        mid, length, ours = edges(neuron)
        _, idx = cKDTree(split[["x", "y", "z"]].to_numpy(float) * 8.0).query(mid)
        theirs = split["compartment"].to_numpy()[idx]
        keep = np.isin(theirs, ["axon", "dendrite"]) & (ours != "soma")
        agree = (length * (ours == theirs))[keep].sum() / length[keep].sum()
        method = neuron.branches["compartment_method"].value_counts().idxmax()
        axon_um = neuron.branches.loc[neuron.branches["compartment"] == "axon", "length"].sum()
        plain, warned = extract_warned(data / "obj" / f"{nid}.obj", voxel_size=8)
        print(f"{nid:>10}: {neuron.n_somas} soma(s) ({soma}), cable {cable:.3f} of reference SWC, {secs:.1f} s | "
              f"axon without synapses: agreement {agree:.3f} ({method}), axon {axon_um:.0f} µm | "
              f"no profile: cable {plain.skeleton.cable_length / (float(ref.cable_length) * 8):.3f}, "
              f"InsectTwigWarning {'yes' if warned else 'NO'} ({check_text(plain)})", flush=True)


def off_axon_sites(neuron) -> None:
    """Where each presynaptic site the mapping left off the axon lies: the ceiling of "pre on axon".

    A site can move to the axon only if an axon surface lies within the mapping tolerance
    (``outputs_to_axon``); a site farther from every axon surface stays on the dendrite it touches
    unless that dendrite were called axon (its inputs say it is not).
    """
    import trimesh

    syn, b = neuron.synapses, neuron.branches
    axon = np.asarray(neuron.face_compartment) == ng.codes.SWC_TYPE["axon"]
    surface = trimesh.Trimesh(neuron.mesh.vertices, neuron.mesh.faces[axon], process=False)
    tolerance = float(neuron.synapse_report.get("tolerance_nm", 1000.0))
    rows = syn.index[(syn["direction"] == "pre") & (syn["compartment"] != "axon")]
    far = 0
    for i in rows:
        _, gap, _ = trimesh.proximity.closest_point(surface, syn.loc[[i], ["x", "y", "z"]].to_numpy(float))
        br = int(syn.at[i, "branch"])
        print(f"   pre site {i} off the axon: {syn.at[i, 'distance_to_mesh_nm']:.0f} nm from {b.at[br, 'compartment']} "
              f"branch {br} ({b.at[br, 'length']:.1f} µm, {int(b.at[br, 'n_post'])} inputs, {int(b.at[br, 'n_pre'])} "
              f"outputs); nearest axon surface {gap[0]:.0f} nm (tolerance {tolerance:.0f} nm)", flush=True)
        far += int(gap[0] > tolerance)
    n_pre = int((syn["direction"] == "pre").sum())
    print(f"   => {far} of them lie beyond the tolerance from every axon surface: with these axon labels at most "
          f"{n_pre - far}/{n_pre} = {(n_pre - far) / n_pre:.3f} of presynaptic sites can be on the axon", flush=True)


def microns() -> None:
    stem = SHARED / "microns_neurd" / "864691135510518224"
    if not (stem.parent / (stem.name + "_decimated_mesh.off")).exists():
        print("\nMICrONS data not found; skipped")
        return
    print("\n== MICrONS 864691135510518224 (two somata) with its 965 synapses ==")
    mesh, syn = stem.parent / (stem.name + "_decimated_mesh.off"), stem.parent / (stem.name + "_synapses.csv")
    runs = {"no profile (synapse_voxel_size=(4,4,40))": dict(voxel_size=1, synapse_voxel_size=(4, 4, 40)),
            "dataset='microns'": dict(dataset="microns")}
    for label, kw in runs.items():
        t0 = time.perf_counter()
        neuron, warned = extract_warned(mesh, synapses=syn, **kw)
        _, on_axon, post_ok = synapse_scores(neuron.synapses)
        lengths = neuron.branches.groupby("compartment")["length"].sum().round(0).to_dict()
        print(f"{label:42s}: {neuron.n_somas} somata, cable {neuron.skeleton.cable_length / 1e3:.0f} µm, "
              f"{len(neuron.spines)} spines | pre on axon {on_axon:.3f}, post on dendrite/soma {post_ok:.3f} | "
              f"cable µm {lengths} | InsectTwigWarning {'YES' if warned else 'no'} ({check_text(neuron)}) | "
              f"{time.perf_counter() - t0:.1f} s", flush=True)
    off_axon_sites(neuron)
    v = SHARED / "microns_neurd" / "harris_spiny_dendrite_vertices_um.txt"
    if v.exists():
        f = SHARED / "microns_neurd" / "harris_spiny_dendrite_faces.txt"
        neuron, warned = extract_warned((np.loadtxt(v) * 1000.0, np.loadtxt(f, dtype=np.int64)), voxel_size=1,
                                       name="harris")
        print(f"Harris spiny dendrite (no profile): InsectTwigWarning {'YES' if warned else 'no'} ({check_text(neuron)})")


def synthetic(quick: bool) -> None:
    print("\n== synthetic neurons ==")
    seeds = range(3) if quick else range(10)
    accs = {"dataset='flywire'": [], "no profile, min_soma_radius=1500": []}
    for seed in seeds:
        cell = make_neuron(seed, "unipolar")
        row = []
        for label, kw in (("dataset='flywire'", dict(dataset="flywire")),
                          ("no profile, min_soma_radius=1500", dict(spines=False, min_soma_radius=1500.0))):
            neuron = ng.extract(cell.mesh, voxel_size=1, compartments=True, **kw)
            mid, length, ours = edges(neuron)
            truth = truth_compartments(cell, mid)
            keep = np.isin(truth, ["axon", "dendrite"]) & (ours != "soma")
            acc = (length * (ours == truth))[keep].sum() / length[keep].sum()
            accs[label].append(acc)
            ref = neuron.skeleton.cable_length / 1e3 / cell.total_length
            row.append(f"{label}: {acc:.3f} ({neuron.n_somas} soma, cable {ref:.3f} of truth)")
        # with synapses too (pre on the axon, post on the dendrite): the synapse method
        neuron = ng.extract(cell.mesh, dataset="flywire", synapses=sample_synapses(cell, seed), synapse_voxel_size=1)
        s = neuron.synapses
        pre_axon = (s.loc[s.direction == "pre", "compartment"] == "axon").mean()
        print(f"unipolar seed {seed}: axon/dendrite cable right, no synapses | " + " | ".join(row)
              + f" | with synapses: pre on axon {pre_axon:.3f}", flush=True)
    for label, a in accs.items():
        print(f"unipolar, {label}: mean {np.mean(a):.3f}, min {np.min(a):.3f} over {len(a)} neurons")
    for seed in range(2 if quick else 3):
        cell = make_neuron(seed, "pyramidal", spines_per_um=1.0)
        neuron, warned = extract_warned(cell.mesh)
        print(f"pyramidal seed {seed} with spines (no profile): InsectTwigWarning {'YES' if warned else 'no'} "
              f"({check_text(neuron)})", flush=True)


def fafb(quick: bool) -> None:
    folder = SHARED / "fafb_olfactory_pns"
    if not folder.exists():
        print("\nFAFB skeletons not found; skipped")
        return
    labels = pd.read_csv(folder / "bates2020_mmc4_labels.csv")
    n = 4 if quick else 12
    pick = labels.groupby("trivial_name").head(n)
    pick = pick[pick["trivial_name"].isin(["adPN", "lPN", "vPN", "lvPN"])]
    print(f"\n== FAFB olfactory PN skeletons (load_swc(dataset='fafb'), no synapses; {len(pick)} neurons) ==")
    print("   qualitative: distance (µm) from the soma to the cable-weighted centre of each arbor")
    rows = []
    for _, lab in pick.iterrows():
        path = folder / "swc" / f"{lab.skeleton_id}.swc"
        if not path.exists():
            continue
        neuron = ng.load_swc(path, dataset="fafb")
        if not neuron.somas:
            continue
        neuron = ng.label_compartments(neuron, use_synapses=False, method="insect")
        table = ng.compartment_table(neuron)
        mid, length, ours = edges(neuron)
        center = neuron.somas[0].center
        out = {"lineage": lab.trivial_name, "PN_type": lab.PN_type,
               "found": bool((table["compartment"] == "axon").any())}
        for comp in ("axon", "dendrite"):
            m = ours == comp
            out[f"{comp}_um"] = length[m].sum() / 1e3
            out[f"{comp}_from_soma_um"] = (np.linalg.norm((mid[m] * length[m, None]).sum(0) / max(length[m].sum(), 1)
                                                          - center) / 1e3) if m.any() else np.nan
        rows.append(out)
    t = pd.DataFrame(rows)
    with pd.option_context("display.width", 200):
        print(t.groupby(["lineage", "PN_type"]).agg(n=("found", "size"), axon_found=("found", "mean"),
                                                    axon_um=("axon_um", "median"), dendrite_um=("dendrite_um", "median"),
                                                    axon_centre_from_soma_um=("axon_from_soma_um", "median"),
                                                    dendrite_centre_from_soma_um=("dendrite_from_soma_um", "median"))
              .round(2).to_string())
    far = (t["axon_from_soma_um"] > t["dendrite_from_soma_um"]).mean()
    print(f"axon centre farther from the soma than the dendrite centre in {far:.2f} of {len(t)} PNs")


def main() -> None:
    quick = "--quick" in sys.argv
    print(f"neurograph {ng.__version__}; {os.cpu_count()} cores; dataset profiles: {', '.join(ng.DATASETS)}")
    t0 = time.perf_counter()
    hemibrain()
    microns()
    synthetic(quick)
    fafb(quick)
    print(f"\ntotal {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
