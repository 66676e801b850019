"""Cell-type classification benchmark (issue #5).

``python benchmarks/classify.py [--recompute]`` (from the project root; data in ../shared/data; output also
written to ``benchmarks/results/classify.txt``; the FAFB feature table is cached in
``benchmarks/results/fafb_features.parquet`` and re-extracted when the registered columns change or with
``--recompute``):

1. FAFB olfactory projection neurons (346 EM skeletons, nm; labels of Bates et al. 2020):
   feature extraction with wall time per neuron, then 5-fold stratified cross-validated
   balanced accuracy for lineage (``trivial_name``, classes with >= 20 neurons), ``PN_type``
   (uPN/mPN) and ``transmitter`` (ACh/GABA), for
   - the trivial baseline: a random forest on 11 plain skeleton statistics,
   - neurograph's default pipeline on the default (orientation-free) features,
   - the same plus the opt-in brain-space ``position`` features,
   - the default features without the ``backbone_*`` columns (ablation of the features added for #5),
   - extra trees with ``max_features`` chosen by an inner CV (nested: the outer folds never see the choice),
   - the other models on the default features.
2. M1 Patch-seq (Scala et al. 2021, 646 neurons x 62 precomputed morphometrics): RNA families.
3. NeuroMorpho.Org families (127 light-microscopy SWCs, µm): smoke test.

Writes confusion-matrix PNGs, permutation-importance tables and the FAFB feature table to
``benchmarks/results/``.
"""

from __future__ import annotations

import glob
import os
import sys
import time
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.ensemble import RandomForestClassifier  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

import neurograph as ng  # noqa: E402
from neurograph import classify  # noqa: E402
from neurograph.features.registry import ALL_GROUPS  # noqa: E402
from neurograph.io.swc import read_swc  # noqa: E402

warnings.filterwarnings("ignore", category=RuntimeWarning)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
OUT = os.path.join(ROOT, "benchmarks", "results")
SEEDS = (0, 1, 2)  # fold shuffles; the headline is seed 0, the mean over seeds is printed too


def trivial_stats(path: str) -> dict:
    """11 plain skeleton statistics straight from the SWC table (the issue's baseline)."""
    t = read_swc(path, units="nm")
    ids = t["node_id"].to_numpy()
    par = t["parent_id"].to_numpy()
    xyz = t[["x", "y", "z"]].to_numpy() / 1e3
    pos = pd.Series(np.arange(len(t)), index=ids)
    has = par >= 0
    pi = pos.reindex(par[has]).to_numpy()
    edge = np.linalg.norm(xyz[has] - xyz[pi], axis=1)
    n_children = np.bincount(pi, minlength=len(t))
    root = xyz[~has][0]
    r = t["radius"].to_numpy()
    return {"n_nodes": len(t), "cable_length": edge.sum(), "n_branch_points": int((n_children >= 2).sum()),
            "n_tips": int((n_children == 0).sum()), "n_roots": int((~has).sum()),
            "max_dist_from_root": float(np.linalg.norm(xyz - root, axis=1).max()),
            "bbox_x": np.ptp(xyz[:, 0]), "bbox_y": np.ptp(xyz[:, 1]), "bbox_z": np.ptp(xyz[:, 2]),
            "mean_radius": float(np.nanmean(r)) if np.isfinite(r).any() else np.nan,
            "mean_edge_length": float(edge.mean())}


def baseline_pipeline() -> Pipeline:
    return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                     ("model", RandomForestClassifier(n_estimators=500, random_state=0, n_jobs=-1))])


def nested_pipeline() -> Pipeline:
    """Extra trees whose ``max_features`` ("sqrt" = the default, or 20 % of the columns) is picked by an
    inner 3-fold CV on the training folds only: the outer folds stay unseen by the choice."""
    inner = StratifiedKFold(n_splits=3, shuffle=True, random_state=0)
    search = GridSearchCV(classify.build_pipeline("extra_trees"), {"model__max_features": ["sqrt", 0.2]},
                          cv=inner, scoring="balanced_accuracy", n_jobs=1)
    return Pipeline([("tuned", search)])


def cv(features, labels, model, seeds=SEEDS, **kw) -> tuple[classify.CVResult, list[float]]:
    runs = [classify.cross_validate(features, labels, model=model, random_state=s, **kw) for s in seeds]
    return runs[0], [r.balanced_accuracy for r in runs]


def fmt(res: classify.CVResult, seeds: list[float]) -> str:
    return (f"bal.acc {res.balanced_accuracy:.3f} ± {res.balanced_accuracy_sd:.3f} (folds), "
            f"macro F1 {res.macro_f1:.3f}, mean of {len(seeds)} fold shuffles {np.mean(seeds):.3f}")


def save_outputs(tag: str, res: classify.CVResult, title: str) -> None:
    fig = classify.plot_confusion(res, title=f"{title}\n{res.balanced_accuracy:.3f} balanced accuracy")
    fig.savefig(os.path.join(OUT, f"{tag}_confusion.png"), dpi=110, bbox_inches="tight")
    plt.close(fig)
    res.confusion.to_csv(os.path.join(OUT, f"{tag}_confusion.csv"))


def importance(tag: str, features: pd.DataFrame, labels) -> pd.DataFrame:
    """Permutation importance on the held-out folds (1 permutation per fold, 100 trees: runtime)."""
    res = classify.cross_validate(features, labels, importance=True, n_repeats=1, n_estimators=100)
    table = classify.describe(res.importance)
    table.to_csv(os.path.join(OUT, f"{tag}_importance.csv"))
    return table


def fafb() -> None:
    root = os.path.join(DATA, "fafb_olfactory_pns")
    files = sorted(glob.glob(os.path.join(root, "swc", "*.swc")))
    labels = pd.read_csv(os.path.join(root, "bates2020_mmc4_labels.csv"))
    labels.index = labels["skeleton_id"].astype(str)
    print(f"== FAFB olfactory projection neurons: {len(files)} SWC skeletons (nm)")
    cache = os.path.join(OUT, "fafb_features.parquet")
    registered = list(ng.feature_table(ALL_GROUPS).index)
    X_all = pd.read_parquet(cache) if os.path.exists(cache) and "--recompute" not in sys.argv else None
    if X_all is not None and sorted(X_all.columns) == sorted(registered) and len(X_all) == len(files):
        print(f"features read from {os.path.relpath(cache, ROOT)} (same registered columns; --recompute to "
              "re-extract and time)")
    else:
        ng.neuron_features(ng.load_swc(files[0], units="nm"))  # numba compile / cache load, not timed
        rows, times, nodes = [], [], []
        t_all = time.perf_counter()
        for f in files:
            t0 = time.perf_counter()
            neuron = ng.load_swc(f, units="nm")
            rows.append(ng.neuron_features(neuron, groups=ALL_GROUPS))
            times.append(time.perf_counter() - t0)
            nodes.append(neuron.skeleton.n_nodes)
        wall = time.perf_counter() - t_all
        X_all = pd.concat(rows)
        X_all.to_parquet(cache)
        times, nodes = np.array(times), np.array(nodes)
        print(f"extraction (load_swc + neuron_features, 1 process): {wall:.1f} s for {len(files)} neurons; per "
              f"neuron mean {times.mean():.3f} s, median {np.median(times):.3f} s, max {times.max():.3f} s "
              f"({nodes[times.argmax()]} nodes); {nodes.sum() / wall:,.0f} nodes/s")
    pos_cols = ng.feature_table(["position"]).index
    X = X_all.drop(columns=pos_cols)
    X = X.loc[:, X.notna().any()]            # drop inputs FAFB SWCs do not have (mesh, synapses, ...)
    X_pos = X.join(X_all[pos_cols])
    print(f"features: {X.shape[1]} default columns with data (+{len(pos_cols)} position), "
          f"{X_all.shape[1]} registered in all")
    base = pd.DataFrame([trivial_stats(f) for f in files], index=X_all.index)
    backbone = [c for c in X.columns if c.startswith("backbone_")]   # added for issue #5: ablation

    lab = labels.reindex(X.index)
    tn = lab["trivial_name"]
    big = tn.value_counts()
    tasks = {"lineage": tn[tn.isin(big[big >= 20].index)],
             "PN_type": lab["PN_type"].dropna(),
             "transmitter": lab["transmitter"][lab["transmitter"].isin(["ACh", "GABA"])]}
    targets = {"lineage": 0.95, "PN_type": 0.93, "transmitter": 0.95}
    summary = []
    for task, y in tasks.items():
        classes = ", ".join(f"{k} {v}" for k, v in y.value_counts().items())
        print(f"\n-- {task} ({len(y)} neurons: {classes}); target >= {targets[task]}")
        t0 = time.perf_counter()
        r_base, s_base = cv(base.loc[y.index], y, baseline_pipeline())
        print(f"  trivial baseline (RF, 11 plain stats)     {fmt(r_base, s_base)}")
        r_def, s_def = cv(X.loc[y.index], y, classify.DEFAULT_MODEL)
        print(f"  neurograph default ({classify.DEFAULT_MODEL}, no position) {fmt(r_def, s_def)}")
        r_pos, s_pos = cv(X_pos.loc[y.index], y, classify.DEFAULT_MODEL)
        print(f"  neurograph + position features           {fmt(r_pos, s_pos)}")
        r_nb, s_nb = cv(X.loc[y.index].drop(columns=backbone), y, classify.DEFAULT_MODEL)
        print(f"  default without the backbone features    {fmt(r_nb, s_nb)}")
        r_nest, s_nest = cv(X.loc[y.index], y, nested_pipeline(), seeds=(0,))
        print(f"  nested CV: extra trees max_features chosen in inner 3-fold CV {fmt(r_nest, s_nest)}")
        for m in ("random_forest", "logistic"):
            r_m, s_m = cv(X.loc[y.index], y, m, seeds=(0,))
            print(f"  {m:<20s} (no position)           {fmt(r_m, s_m)}")
        save_outputs(f"fafb_{task}_baseline", r_base, f"FAFB {task}: trivial baseline")
        save_outputs(f"fafb_{task}", r_def, f"FAFB {task}: neurograph default")
        save_outputs(f"fafb_{task}_position", r_pos, f"FAFB {task}: neurograph + position")
        print("  confusion (default, no position):")
        print("    " + r_def.confusion.to_string().replace("\n", "\n    "))
        imp = importance(f"fafb_{task}", X.loc[y.index], y)
        print("  top features (held-out permutation importance): " +
              ", ".join(f"{i} ({r.importance:.3f})" for i, r in imp.head(8).iterrows()))
        print(f"  [{time.perf_counter() - t0:.0f} s]")
        summary.append((task, r_base.balanced_accuracy, r_nb.balanced_accuracy, np.mean(s_nb), r_def.balanced_accuracy,
                        np.mean(s_def), r_pos.balanced_accuracy, targets[task]))
    print("\nFAFB summary (5-fold balanced accuracy, seed 0; mean over 3 shuffles in brackets):")
    print(f"  {'task':<12s} {'baseline':>9s} {'no backbone':>17s} {'default':>17s} {'+position':>10s} {'target':>7s}")
    for task, b, nb, nbm, d, dm, p, t in summary:
        print(f"  {task:<12s} {b:9.3f} {nb:9.3f} [{nbm:.3f}] {d:9.3f} [{dm:.3f}] {p:10.3f} {t:7.2f}")


def m1() -> None:
    root = os.path.join(DATA, "m1_patchseq_scala2021")
    feats = pd.read_csv(os.path.join(root, "m1_patchseq_morph_features.csv"), index_col=0)
    meta = pd.read_csv(os.path.join(root, "m1_patchseq_meta_data.csv"), sep="\t", index_col="Cell")
    zprof = pd.read_csv(os.path.join(root, "m1_patchseq_morph_zprofiles.csv"), index_col=0).add_prefix("zprofile_")
    fam = meta["RNA family"].reindex(feats.index)
    # 'cell class' (exc/inh) comes from the transcriptome and 'normalized layer' is a string: not inputs.
    X = feats.drop(columns=["cell class", "normalized layer"])
    print(f"\n== M1 Patch-seq: {len(X)} neurons x {X.shape[1]} precomputed morphometrics (the file's "
          f"{feats.shape[1]} columns without 'cell class' and 'normalized layer') "
          f"(+{zprof.shape[1]} depth-profile bins)")
    for tag, families in (("inhibitory", ["Pvalb", "Sst", "Vip", "Lamp5"]), ("excitatory", ["IT", "ET", "CT"])):
        keep = fam.isin(families)
        y = fam[keep]
        classes = ", ".join(f"{k} {v}" for k, v in y.value_counts().items())
        print(f"-- {tag} families ({keep.sum()} neurons: {classes}); chance {1 / len(families):.2f}")
        r, s = cv(X[keep], y, classify.DEFAULT_MODEL)
        print(f"  {classify.DEFAULT_MODEL:<14s} {X.shape[1]} features      {fmt(r, s)}")
        r_rf, s_rf = cv(X[keep], y, "random_forest", seeds=(0,))
        print(f"  random_forest  {X.shape[1]} features      {fmt(r_rf, s_rf)}")
        Xz = X.join(zprof)
        r_z, s_z = cv(Xz[keep], y, classify.DEFAULT_MODEL, seeds=(0,))
        print(f"  {classify.DEFAULT_MODEL:<14s} + depth profiles  {fmt(r_z, s_z)}")
        save_outputs(f"m1_{tag}", r, f"M1 Patch-seq {tag} families")
        imp = importance(f"m1_{tag}", X[keep], y)
        print("  top features: " + ", ".join(f"{i} ({v:.3f})" for i, v in imp["importance"].head(6).items()))
        print("  confusion:\n    " + r.confusion.to_string().replace("\n", "\n    "))


def nmo() -> None:
    root = os.path.join(DATA, "nmo_families_127")
    labels = pd.read_csv(os.path.join(root, "labels.csv"))
    t0 = time.perf_counter()
    neurons = [ng.load_swc(os.path.join(root, f), units="um") for f in labels["file"]]
    X = ng.neuron_features(neurons)
    dt = time.perf_counter() - t0
    y = pd.Series(labels["family"].to_numpy(), index=X.index)
    print(f"\n== NeuroMorpho.Org families: {len(X)} SWCs (µm), features in {dt:.1f} s "
          f"({dt / len(X):.3f} s per neuron)")
    r, s = cv(X.loc[:, X.notna().any()], y, classify.DEFAULT_MODEL)
    print(f"  {len(y.unique())} families, chance {1 / y.nunique():.2f}: {fmt(r, s)}")
    save_outputs("nmo_families", r, "NeuroMorpho families")
    print("  confusion:\n    " + r.confusion.to_string().replace("\n", "\n    "))


class _Tee:
    """Print to the terminal and to ``benchmarks/results/classify.txt``."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)

    def flush(self):
        for s in self.streams:
            s.flush()


def main() -> int:
    if not os.path.isdir(DATA):
        print(f"no data at {DATA}", file=sys.stderr)
        return 1
    os.makedirs(OUT, exist_ok=True)
    log = open(os.path.join(OUT, "classify.txt"), "w", encoding="utf-8")
    sys.stdout = _Tee(sys.__stdout__, log)
    t0 = time.perf_counter()
    fafb()
    m1()
    nmo()
    print(f"\ntotal {time.perf_counter() - t0:.0f} s; figures and tables in {os.path.relpath(OUT, ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
