"""Soma splitting and proofreading against exact truth (synthetic merges) and against NEURD.

Synthetic: ``neurograph.synthetic.make_merge`` unites cells where neurites cross or touch, fuses
soma-less axon fragments onto dendrites, and joins two somata by a neurite; every face knows
its cell. Each merged mesh goes through ``extract -> split_somas -> proofread``; measured:

* merge-point precision / recall: a cut or flag within 5 µm of a true merge point is right;
  a true merge point with a cut or flag within 5 µm is found;
* cable assignment: of each cell's true cable (skeleton of the merged neuron, each node's
  cell from the nearest true axis), the share that ends in that cell's output neuron (for a
  soma-less fragment: the share removed from the host);
* false cuts on unmerged synthetic cells, per 5 mm of cable.

MICrONS 864691135510518224 (two somata): split, proofread, and compared with NEURD's own
skeleton of the segment (µm, soma-centred; aligned by translating onto our matching soma),
with what NEURD's skeleton lacks and the best any choice of cutting it can do
(``neurd_beyond.py``).

Real unmerged neurons: the default rules on the 211 Allen Cell Types full reconstructions
(types stripped): every cut is a false cut.

Usage: ``python benchmarks/proofreading.py [--n 30] [--unmerged 4] [--no-microns] [--no-allen]``; results in
``benchmarks/results/proofreading.txt``. Extraction is the slow step and split/proofread do not
change it, so extracted neurons are cached under ``benchmarks/.cache_proofreading/neurons``
(delete the folder after a change to extraction or to the synthetic generator).
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import neurograph as ng  # noqa: E402
from neurograph.proofread import proofread, split_somas  # noqa: E402
from neurograph.synthetic import make_merge, make_neuron  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.path.join(HERE, "..", "..", "shared", "data")
CACHE = os.environ.get("NEUROGRAPH_PROOFREAD_CACHE", os.path.join(HERE, ".cache_proofreading"))
STEP = 600.0  # wavefront step (nm) for the synthetic runs: 3x faster than 300, same topology
TOL = 5000.0



def predicted_points(outs) -> np.ndarray:
    rows = [o.cuts[["x", "y", "z"]].to_numpy(float) for o in outs if o.cuts is not None and len(o.cuts)]
    if not rows:
        return np.empty((0, 3))
    pts = np.vstack(rows)
    keep = []  # one prediction per place (split cuts appear on both neurons, crossings cut two arms)
    for p in pts:
        if all(np.linalg.norm(p - q) > 2000.0 for q in keep):
            keep.append(p)
    return np.array(keep)


def evaluate_merge(m, neuron, outs) -> dict:
    pred = predicted_points(outs)
    truth = m.merge_points
    d_pred = cKDTree(truth).query(pred)[0] if len(pred) else np.empty(0)
    d_true = cKDTree(pred).query(truth)[0] if len(pred) else np.full(len(truth), np.inf)
    sk = neuron.skeleton
    cell = m.cell_of(sk.vertices)
    L = sk.edge_lengths
    total = np.bincount(cell, weights=L, minlength=m.n_cells)
    kept = np.zeros(m.n_cells)
    foreign_in = np.zeros(m.n_cells)
    for o in outs:
        if not o.somas:
            continue
        owner = int(m.cell_of(o.somas[0].center[None])[0])
        oc = m.cell_of(o.skeleton.vertices)
        ol = o.skeleton.edge_lengths
        kept[owner] += ol[oc == owner].sum()
        foreign_in[owner] += ol[oc != owner].sum()
    share = []
    for c in range(m.n_cells):
        if m.soma_centers[c] is not None:
            share.append(kept[c] / total[c])
        else:  # a fragment: the share of it removed from every output
            left = sum(o.skeleton.edge_lengths[m.cell_of(o.skeleton.vertices) == c].sum() for o in outs)
            share.append(1 - left / total[c])
    return dict(kind=m.kind, seed=m.seed, n_pred=len(pred), tp_pred=int((d_pred <= TOL).sum()),
                n_true=len(truth), found=int((d_true <= TOL).sum()), share=[float(s) for s in share],
                cable_um=[float(x) / 1e3 for x in total], n_out=len(outs),
                reasons=sorted(set(r for o in outs if o.cuts is not None for r in o.cuts["reason"])))


def extracted(key: str, make):
    """(truth, extracted neuron, extract seconds) for ``key``, cached under ``CACHE/neurons``:
    extraction is the slow step, and split/proofread changes do not alter it."""
    folder = os.path.join(CACHE, "neurons")
    os.makedirs(folder, exist_ok=True)
    stem = os.path.join(folder, key)
    if os.path.exists(stem + ".neuron.zip") and os.path.exists(stem + ".truth.pkl"):
        with open(stem + ".truth.pkl", "rb") as f:
            truth, secs = pickle.load(f)
        return truth, ng.load(stem + ".neuron.zip"), secs
    truth = make()
    t0 = time.perf_counter()
    neuron = ng.extract(truth.mesh, voxel_size=1, spines=False, step=STEP)
    secs = time.perf_counter() - t0
    neuron.save(stem + ".neuron.zip")
    with open(stem + ".truth.pkl", "wb") as f:
        pickle.dump((truth, secs), f)
    return truth, neuron, secs


def split_and_proofread(neuron):
    """split_somas -> proofread (default rules); returns (outputs, seconds)."""
    t0 = time.perf_counter()
    outs = [proofread(p)[0] for p in split_somas(neuron)]
    return outs, time.perf_counter() - t0


def run_merge(kind: str, seed: int) -> dict:
    m, neuron, t_extract = extracted(f"{kind}_{seed}", lambda: make_merge(seed=seed, kind=kind))
    outs, secs = split_and_proofread(neuron)
    out = evaluate_merge(m, neuron, outs)
    out["seconds"] = secs
    out["extract_seconds"] = t_extract
    return out


def run_unmerged(shape: str, seed: int) -> dict:
    cell, neuron, t_extract = extracted(f"plain_{shape}_{seed}", lambda: make_neuron(seed=seed, shape=shape))
    outs, secs = split_and_proofread(neuron)
    cuts = pd.concat([o.cuts for o in outs if o.cuts is not None])
    return dict(shape=shape, seed=seed, cable_um=float(neuron.skeleton.cable_length / 1e3),
                n_cut=int((cuts["action"] == "cut").sum()), n_flag=int((cuts["action"] == "flag").sum()),
                n_pred=len(predicted_points(outs)), seconds=secs)


def synthetic(n: int, n_unmerged: int, kinds, lines: list) -> None:
    lines.append(f"== synthetic merges (extract step {STEP:.0f} nm, no spines; split_somas then proofread with "
                 "default rules; a cut or flag within 5 µm of a true merge point counts) ==")
    all_rows = []
    for kind in kinds:
        rows = [run_merge(kind, s) for s in range(n)]
        if not rows:
            continue
        all_rows += rows
        tp = sum(r["tp_pred"] for r in rows)
        npred = sum(r["n_pred"] for r in rows)
        found = sum(r["found"] for r in rows)
        ntrue = sum(r["n_true"] for r in rows)
        shares = np.array([r["share"] for r in rows])
        worst = shares.min(axis=1)
        lines.append(f"{kind:17s} n={len(rows):3d} | precision {tp / max(npred, 1):.3f} ({tp}/{npred}) | recall "
                     f"{found / max(ntrue, 1):.3f} ({found}/{ntrue}) | cable share cell0 mean {shares[:, 0].mean():.3f} "
                     f"min {shares[:, 0].min():.3f}, cell1 mean {shares[:, 1].mean():.3f} min {shares[:, 1].min():.3f} | "
                     f"merges with both cells >= 95%: {(worst >= 0.95).mean():.2f} | "
                     f"split+proofread {np.median([r['seconds'] for r in rows]):.1f} s median "
                     f"(extract {np.median([r['extract_seconds'] for r in rows]):.0f} s)")
    tp = sum(r["tp_pred"] for r in all_rows)
    npred = sum(r["n_pred"] for r in all_rows)
    found = sum(r["found"] for r in all_rows)
    ntrue = sum(r["n_true"] for r in all_rows)
    if not all_rows:
        return _unmerged(n_unmerged, lines)
    shares = np.concatenate([r["share"] for r in all_rows])
    cable = np.concatenate([r["cable_um"] for r in all_rows])
    lines.append(f"ALL               n={len(all_rows):3d} | precision {tp / max(npred, 1):.3f} | recall "
                 f"{found / max(ntrue, 1):.3f} | cable-weighted share {np.sum(shares * cable) / cable.sum():.3f}, "
                 f"mean per cell {shares.mean():.3f}, cells >= 95%: {(shares >= 0.95).mean():.3f}")
    reasons = pd.Series([x for r in all_rows for x in r["reasons"]]).value_counts()
    lines.append("reasons given (merges where used): " + "; ".join(f"{k} {v}" for k, v in reasons.items()))
    lines.append("")
    _unmerged(n_unmerged, lines)


def _unmerged(n_unmerged: int, lines: list) -> None:
    lines.append("== unmerged synthetic cells: false cuts ==")
    rows = [run_unmerged(shape, s)
            for s in range(n_unmerged) for shape in ("multipolar", "pyramidal", "bipolar")]
    if not rows:
        return
    cable = sum(r["cable_um"] for r in rows)
    cuts = sum(r["n_cut"] for r in rows)
    flags = sum(r["n_flag"] for r in rows)
    lines.append(f"{len(rows)} cells, {cable / 1e3:.1f} mm of cable: {cuts} cuts, {flags} flags -> "
                 f"{cuts / (cable / 5000):.2f} false cuts per 5 mm")
    for r in rows:
        if r["n_cut"] or r["n_flag"]:
            lines.append(f"   {r['shape']} seed {r['seed']}: {r['n_cut']} cuts, {r['n_flag']} flags, {r['cable_um']:.0f} µm")


def allen_unmerged(lines: list) -> None:
    """Cuts of the default rules on real unmerged neurons: the Allen Cell Types full reconstructions
    (light microscopy, one cell each; SWC types stripped, kept as the truth of what was cut)."""
    folder = os.path.join(SHARED, "allen_celltypes_509")
    if not os.path.exists(os.path.join(folder, "labels.csv")):
        lines.append("Allen Cell Types data not found; skipped")
        return
    from cortex_compartments import load_stripped

    from neurograph.proofread.rules import find_merges

    labels = pd.read_csv(os.path.join(folder, "labels.csv"))
    ids = labels.loc[labels["reconstruction_type"] == "full", "specimen_id"].sort_values()
    t0 = time.perf_counter()
    rows, cable = [], 0.0
    for sid in ids:
        neuron, truth = load_stripped(folder, int(sid))
        cable += neuron.skeleton.cable_length / 1e3
        found = find_merges(neuron)
        for r in found.itertuples(index=False):
            nodes = truth[neuron.node_branch == r.branch]
            nodes = nodes[nodes > 1]
            kind = {2: "axon", 3: "dendrite", 4: "apical"}.get(int(np.bincount(nodes).argmax()) if len(nodes) else 0, "?")
            rows.append(dict(cell=int(sid), rule=r.rule, action=r.action, cable_um=r.cable_um, truth=kind))
    table = pd.DataFrame(rows, columns=["cell", "rule", "action", "cable_um", "truth"])
    lines.append(f"== real unmerged neurons: {len(ids)} Allen Cell Types full reconstructions (light microscopy, µm "
                 f"files, SWC types stripped), {cable / 1e6:.2f} m of cable, default rules ({time.perf_counter() - t0:.0f} s) ==")
    for rule, g in table.groupby("rule"):
        cuts = g[g["action"] == "cut"]
        lines.append(f"{rule:17s} {g['action'].iat[0]:4s} {len(g):4d} pieces in {g['cell'].nunique():3d} cells "
                     f"({len(g) / (cable / 5000):.3f} per 5 mm), {g['cable_um'].sum() / 1e3:.2f} mm; true type of "
                     f"the pieces: {g['truth'].value_counts().to_dict()}" + ("" if len(cuts) else " (flags only)"))
    cuts = table[table["action"] == "cut"]
    lines.append(f"all cuts: {len(cuts)} ({len(cuts) / (cable / 5000):.3f} per 5 mm of cable), "
                 f"{cuts['cable_um'].sum() / 1e3:.2f} mm = {cuts['cable_um'].sum() / cable:.4f} of the cable "
                 "(nested pieces counted once per rule)")


def neurd_skeleton(path: str) -> np.ndarray:
    """NEURD's SWC (header ``n type x y z radius parent``, µm, soma-centred) as points every 200 nm, nm."""
    swc = pd.read_csv(path, sep=r"\s+")
    pts = swc[["x", "y", "z"]].to_numpy(float) * 1e3
    index = {int(a): i for i, a in enumerate(swc["n"])}
    par = np.array([index.get(int(p), -1) for p in swc["parent"]])
    segs = [np.linspace(pts[par[i]], pts[i], int(np.ceil(np.linalg.norm(pts[i] - pts[par[i]]) / 200)) + 1)
            for i in range(len(pts)) if par[i] >= 0]
    return np.vstack(segs)


def compare_neurd(neuron, dense: np.ndarray) -> dict:
    sk = neuron.skeleton
    L = sk.edge_lengths
    d = cKDTree(dense).query(sk.vertices)[0]
    dd = cKDTree(sk.vertices).query(dense)[0]
    syn = neuron.synapses
    pre = syn["direction"] == "pre" if syn is not None else pd.Series(dtype=bool)
    on_axon = float((syn.loc[pre, "compartment"] == "axon").mean()) if syn is not None and pre.any() else float("nan")
    return dict(cable_um=L.sum() / 1e3, own_near=L[d <= TOL].sum() / L.sum(), covered=float((dd <= TOL).mean()),
                n_pre=int(pre.sum()), pre_on_axon=on_axon, n_post=int((~pre).sum()) if syn is not None else 0)


def microns(lines: list) -> None:
    stem = os.path.join(SHARED, "microns_neurd", "864691135510518224")
    if not os.path.exists(stem + "_decimated_mesh.off"):
        lines.append("MICrONS data not found; skipped")
        return
    lines.append("== MICrONS 864691135510518224 (two somata) vs NEURD's skeleton of the segment ==")
    t0 = time.perf_counter()
    saved = os.path.join(CACHE, "neurons", "microns_864691135510518224.neuron.zip")
    if os.path.exists(saved):
        neuron = ng.load(saved)
    else:
        neuron = ng.extract(stem + "_decimated_mesh.off", voxel_size=1, synapses=stem + "_synapses.csv",
                            synapse_voxel_size=(4, 4, 40))
        os.makedirs(os.path.dirname(saved), exist_ok=True)
        neuron.save(saved)
    t1 = time.perf_counter()
    parts = split_somas(neuron)
    t2 = time.perf_counter()
    dense0 = neurd_skeleton(stem + "_neurd_skeleton.swc")
    match = int(np.argmin([np.median(cKDTree(dense0 + s.center).query(neuron.skeleton.vertices)[0])
                           for s in neuron.somas]))
    lines.append(f"extract (or load the cached extraction) {t1 - t0:.1f} s, split_somas {t2 - t1:.1f} s: {len(parts)} neurons "
                 f"({', '.join(p.name for p in parts)}); NEURD's soma matches our soma {match} "
                 f"(NEURD is soma-centred: translated onto its centre)")
    dense = dense0 + neuron.somas[match].center
    lines.append(f"NEURD skeleton cable {np.sum(np.linalg.norm(np.diff(dense, axis=0), axis=1)[np.linalg.norm(np.diff(dense, axis=0), axis=1) < 300]) / 1e3:.0f} µm")
    before = compare_neurd(neuron, dense)
    lines.append(f"unsplit neuron: cable {before['cable_um']:.0f} µm, own cable within 5 µm of NEURD "
                 f"{before['own_near']:.3f}, NEURD covered {before['covered']:.3f}, {before['n_pre']} pre, on axon "
                 f"{before['pre_on_axon']:.3f}")
    for p in parts:
        r = compare_neurd(p, dense)
        lines.append(f"split  {p.name}: cable {r['cable_um']:.0f} µm, own cable within 5 µm of NEURD {r['own_near']:.3f}, "
                     f"NEURD cable covered {r['covered']:.3f} | {r['n_pre']} pre (on axon {r['pre_on_axon']:.3f}), "
                     f"{r['n_post']} post")
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        lines.append("cuts between the somata (nm):")
        lines.append(parts[match].cuts.drop(columns=["action", "cable_um", "rule"]).round(3).to_string())
    t3 = time.perf_counter()
    cleaned, pieces = proofread(parts[match])
    t4 = time.perf_counter()
    r = compare_neurd(cleaned, dense)
    lines.append(f"proofread (default rules) {t4 - t3:.1f} s: cable {r['cable_um']:.0f} µm, own cable within 5 µm of "
                 f"NEURD {r['own_near']:.3f}, NEURD covered {r['covered']:.3f} | {r['n_pre']} pre (on axon "
                 f"{r['pre_on_axon']:.3f}), {r['n_post']} post")
    with pd.option_context("display.width", 250, "display.max_colwidth", 70):
        lines.append(pieces.drop(columns=["x", "y", "z", "reason"]).round(3).to_string())
    from neurograph.proofread.second_axon import axon_like_pieces

    side = axon_like_pieces(parts[match])
    lines.append(f"second_axon on this neuron: {len(side)} side branches >= 10 µm judged, {int(side['merge'].sum())} "
                 f"axon-like pieces on dendrites (cut); of the others {int(side['host_axon'].sum())} hang from the axon, "
                 f"{int((~side['host_axon'] & side['spiny']).sum())} are spiny dendrites, "
                 f"{int((~side['host_axon'] & ~side['spiny'] & (side['width_ratio'] < 0.6)).sum())} thin aspiny ones "
                 f"(max axon score {side.loc[~side['host_axon'] & ~side['spiny'], 'score'].max():.2f})")
    comp = cleaned.branches.groupby("compartment")["length"].sum().round(1).to_dict()
    lines.append(f"compartments of the proofread neuron (µm): {comp}")
    neurd_like, _ = proofread(parts[match], rules={"axon_crossing": "cut"})
    r = compare_neurd(neurd_like, dense)
    lines.append(f"proofread with axon_crossing='cut' (as NEURD cuts high-degree axon branch points): cable "
                 f"{r['cable_um']:.0f} µm, own cable within 5 µm of NEURD {r['own_near']:.3f}, NEURD covered "
                 f"{r['covered']:.3f} | {r['n_pre']} pre (on axon {r['pre_on_axon']:.3f}), {r['n_post']} post")
    lines += beyond_neurd(cleaned, stem, neuron.somas[match].center, synapses=neuron.synapses)
    figure(parts, os.path.join(HERE, "..", "docs", "microns_split.png"))
    lines.append("picture: docs/microns_split.png (split_somas result, cuts marked)")


def beyond_neurd(neuron, stem: str, centre: np.ndarray, synapses) -> list:
    """What NEURD's skeleton lacks of our proofread neuron, and what cutting it would cost."""
    import neurd_beyond as nb

    dense, kind = nb.neurd_points(stem + "_neurd_skeleton.swc", centre)
    out = ["", "-- what NEURD's skeleton lacks (our proofread neuron's pieces farther than 5 µm from it) --",
           "the segment's synapses by the part of NEURD's skeleton within 5 µm (all 965, before any split):"]
    with pd.option_context("display.width", 200):
        out += nb.synapses_near_neurd(synapses, dense, kind).to_string().splitlines()
        table, roots = nb.pieces_beyond(neuron, dense)
        out.append(f"{len(table)} pieces beyond NEURD (>= 2 µm), {table['cable_um'].sum():.0f} µm of "
                   f"{neuron.skeleton.cable_length / 1e3:.0f} µm; axon {(table['cable_um'] * table['axon_share']).sum():.0f} "
                   f"µm; {table['n_pre'].sum()} of {int((neuron.synapses['direction'] == 'pre').sum())} presynaptic sites, "
                   f"{table['n_post'].sum()} postsynaptic, {table['spines'].sum()} spines:")
        out += table.to_string().splitlines()
        front = nb.cut_frontier(neuron, dense, roots)
    ok = front[front["own_near"] >= 0.8]
    out.append(f"every one of the {1 << len(roots)} combinations of cutting these pieces (each with its subtree), "
               f"labels kept: best share of presynaptic sites on axon with own cable near NEURD >= 0.8: "
               f"{ok['pre_on_axon'].max():.3f}; best own cable near NEURD with >= 0.9 on axon: "
               f"{front.loc[front['pre_on_axon'] >= 0.9, 'own_near'].max():.3f}. Pareto front:")
    out += front.round(3).to_string(index=False).splitlines()
    nb.figure(neuron, dense, kind, os.path.join(HERE, "..", "docs", "microns_vs_neurd.png"))
    out.append("picture: docs/microns_vs_neurd.png (ours near/beyond NEURD, NEURD's skeleton, presynaptic sites)")
    return out


def figure(parts, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from neurograph.plot import plot_split

    fig, axes = plt.subplots(1, 2, figsize=(16, 8))
    for ax, view in zip(axes, ("xy", "xz")):
        plot_split(parts, view=view, ax=ax, title=f"MICrONS 864691135510518224 split by soma ({view}; y = depth)")
    fig.tight_layout()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    warnings.filterwarnings("ignore")
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30, help="merges of each kind")
    ap.add_argument("--unmerged", type=int, default=4, help="unmerged cells of each shape")
    ap.add_argument("--kinds", default="touch,axon_on_dendrite,soma_bridge")
    ap.add_argument("--no-microns", action="store_true")
    ap.add_argument("--no-allen", action="store_true", help="skip the false cuts on the Allen reconstructions")
    ap.add_argument("--out", default=os.path.join(HERE, "results", "proofreading.txt"))
    args = ap.parse_args()
    lines = [f"neurograph {ng.__version__}; {os.cpu_count()} cores; python benchmarks/proofreading.py "
             + " ".join(sys.argv[1:])]
    t0 = time.perf_counter()
    synthetic(args.n, args.unmerged, args.kinds.split(","), lines)
    lines.append("")
    if not args.no_microns:
        microns(lines)
    if not args.no_allen:
        lines.append("")
        allen_unmerged(lines)
    lines.append(f"\ntotal {time.perf_counter() - t0:.0f} s (extracted neurons cached in {os.path.relpath(CACHE, HERE)}: "
                 "delete it after a change to extraction)")
    text = "\n".join(lines)
    print(text)
    if args.kinds == "touch,axon_on_dendrite,soma_bridge":
        os.makedirs(os.path.dirname(args.out), exist_ok=True)
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
