"""How far morphology alone can tell the cortical layer and Cre line (issue #17): the evidence for a ceiling.

``python benchmarks/cortex_ceiling.py`` (from the project root; needs the feature cache
``benchmarks/results/cortex_features.parquet`` written by ``benchmarks/cortex.py``; output in
``benchmarks/results/cortex_ceiling.txt``). Nothing here is used by the library; it measures what the
data allow:

1. **oracle decomposition** of the 6-class layer score (default extra trees, 5-fold, 3 seeds): the
   balanced accuracy if every spiny cell's layer were right and the interneurons kept their
   cross-validated predictions, and the reverse. The 6-class score is the mean of the per-layer
   recalls, and interneurons (aspiny + sparsely spiny) are 54 % of the cells and all of L1, 79 % of
   L2/3, 57 % of L5: a perfect pyramidal-cell model alone bounds the score.
2. **layer within one Cre line** of interneurons (Pvalb, Sst): the same transcriptomic class found in
   several layers. If morphology tells their layer only at chance, layer is not a property of the
   interneuron's shape once its depth is unknown.
3. **layer pairs** within spiny and within aspiny cells: best single feature (threshold and feature
   chosen on the training folds only, scored on the held-out fold: nested), best 5 features (ranked
   on the training folds, extra trees on them) and all features; balanced accuracy, 5-fold, 3 seeds.
4. **labels against the Cre line's home layer**: spiny cells of lines that label one layer's
   excitatory class (Nr5a1, Scnn1a-Tg2/Tg3: L4 IT; Rbp4, Tlx3, Sim1: L5; Ntsr1: L6 corticothalamic;
   Ctgf: L6b) whose soma was assigned another layer, and what the classifier calls them: a cell of an
   L4 class whose soma lies just above the L4 border keeps an L4 shape but carries the label L2/3.
5. **Cre line**: the 9-class score with the confusions inside Sst / Pvalb and Rbp4 / Rorb corrected,
   and each pair on its own (nested as in 3), Sst vs Pvalb also on full and dendrite-only
   reconstructions apart (a Martinotti cell's ascending axon is its best-known mark).
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cortex as cx  # noqa: E402  (the benchmark beside this one)

from neurograph import classify  # noqa: E402

warnings.filterwarnings("ignore")
SEEDS = (0, 1, 2)
INTERNEURON = ("aspiny", "sparsely spiny")
#: Cre lines whose labelled excitatory cells belong to one layer's class (Harris et al. 2014; Tasic
#: et al. 2016, 2018; Gerfen et al. 2013); Cux2 (L2/3 and L4) and Rorb (L4 and L5) span two.
HOME_LAYER = {"Nr5a1-Cre": "4", "Scnn1a-Tg2-Cre": "4", "Scnn1a-Tg3-Cre": "4", "Rbp4-Cre_KL100": "5",
              "Tlx3-Cre_PL56": "5", "Sim1-Cre_KJ18": "5", "Ntsr1-Cre_GN220": "6a", "Ctgf-T2A-dgCre": "6b"}
LAYER_PAIRS = [("2/3", "4"), ("4", "5"), ("5", "6a"), ("2/3", "5"), ("6a", "6b")]


def threshold_scores(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Best balanced accuracy of a one-threshold rule on every column of ``x`` (binary ``y``).

    Parameters
    ----------
    x : (n, p) float array
        Feature values (NaN: set to the column median first).
    y : (n,) bool array
        The two classes.

    Returns
    -------
    score, threshold, sign : (p,) arrays
        Balanced accuracy of the best rule ``sign * x > sign * threshold`` -> class True, its
        threshold and direction (+1 / -1).
    """
    x = np.where(np.isfinite(x), x, np.nan)
    med = np.nanmedian(x, axis=0)
    x = np.where(np.isnan(x), np.where(np.isnan(med), 0.0, med), x)
    order = np.argsort(x, axis=0, kind="stable")
    xs = np.take_along_axis(x, order, 0)
    ys = y[order]
    n1, n0 = y.sum(), (~y).sum()
    # rule "above the cut -> True": cut after position i (i = 0..n-1); below holds the first i+1
    below1 = np.cumsum(ys, axis=0)
    below0 = np.cumsum(~ys, axis=0)
    up = 0.5 * ((n1 - below1) / n1 + below0 / n0)   # True above
    down = 0.5 * (below1 / n1 + (n0 - below0) / n0)  # True below
    valid = np.vstack([xs[1:] > xs[:-1], np.zeros((1, x.shape[1]), bool)])  # cut only between distinct values
    up, down = np.where(valid, up, 0.5), np.where(valid, down, 0.5)
    best_up, best_down = up.max(0), down.max(0)
    sign = np.where(best_up >= best_down, 1.0, -1.0)
    idx = np.where(sign > 0, up.argmax(0), down.argmax(0))
    cols = np.arange(x.shape[1])
    nxt = np.minimum(idx + 1, len(x) - 1)
    thr = 0.5 * (xs[idx, cols] + xs[nxt, cols])
    return np.maximum(best_up, best_down), thr, sign


def pair_scores(X: pd.DataFrame, y: pd.Series) -> dict[str, float]:
    """Nested best-single-feature, best-5 and all-feature balanced accuracy for a binary ``y``."""
    positive = (y == sorted(y.unique())[0]).to_numpy()
    out = {"single": [], "top5": [], "all": []}
    names = []
    for seed in SEEDS:
        skf = StratifiedKFold(5, shuffle=True, random_state=seed)
        pred1, pred5 = np.zeros(len(y), bool), np.empty(len(y), object)
        for tr, te in skf.split(X, positive):
            xtr = X.iloc[tr].to_numpy(float)
            score, thr, sign = threshold_scores(xtr, positive[tr])
            best = int(np.argmax(score))
            names.append(X.columns[best])
            xte = X.iloc[te, best].to_numpy(float)
            xte = np.where(np.isfinite(xte), xte, np.nanmedian(xtr[:, best]))
            pred1[te] = sign[best] * xte > sign[best] * thr[best]
            top = list(X.columns[np.argsort(-score)[:5]])
            model = classify.train(X.iloc[tr][top], y.iloc[tr], random_state=seed)
            pred5[te] = classify.predict(model, X.iloc[te][top])["predicted"].to_numpy()
        out["single"].append(balanced_accuracy_score(positive, pred1))
        out["top5"].append(balanced_accuracy_score(y, pred5))
        out["all"].append(classify.cross_validate(X, y, random_state=seed).balanced_accuracy)
    res = {k: float(np.mean(v)) for k, v in out.items()}
    res["feature"] = pd.Series(names).value_counts().index[0]
    return res


def oracle(X: pd.DataFrame, lab: pd.DataFrame, coarse: pd.Series | None = None) -> list[str]:
    """Layer score as measured and with the spiny cells (or the interneurons) all right; ``coarse``:
    the two-stage model (interneurons then get a model of their own, with their own class weights)."""
    y = lab["layer"]
    name = "flat model" if coarse is None else "two-stage model (coarse= dendrite type)"
    out = [f"## 1. oracle decomposition of the layer score, {name} (default groups + dendrite_form, 5-fold, "
           "mean of 3 seeds)"]
    rows = {"as measured": [], "spiny cells all right": [], "interneurons all right": []}
    recalls = []
    for seed in SEEDS:
        p = classify.cross_validate(X, y, coarse=coarse, random_state=seed).predictions
        spiny = (lab.loc[p.index, "dendrite_type"] == "spiny").to_numpy()
        rows["as measured"].append(balanced_accuracy_score(p["true"], p["predicted"]))
        for name, m in (("spiny cells all right", spiny), ("interneurons all right", ~spiny)):
            q = p["predicted"].to_numpy(copy=True)
            q[m] = p["true"].to_numpy()[m]
            rows[name].append(balanced_accuracy_score(p["true"], q))
        ok = (p["true"] == p["predicted"]).to_numpy()
        recalls.append({(L, kind): ok[(p["true"] == L).to_numpy() & (spiny if kind == "spiny" else ~spiny)].mean()
                        for L in cx.LAYERS for kind in ("spiny", "interneuron")})
    for name, v in rows.items():
        out.append(f"  {name:26s} {np.mean(v):.3f}")
    rec = pd.DataFrame(recalls).mean()
    counts = pd.crosstab(lab["layer"], lab["dendrite_type"] == "spiny")
    out.append("  recall per layer (n): " + "; ".join(
        f"L{L} spiny {rec[(L, 'spiny')]:.2f} ({counts.loc[L, True] if True in counts.columns else 0}), "
        f"interneurons {rec[(L, 'interneuron')]:.2f} ({counts.loc[L, False]})" for L in cx.LAYERS))
    return out


def within_line(X: pd.DataFrame, lab: pd.DataFrame) -> list[str]:
    out = ["\n## 2. layer within one interneuron Cre line (aspiny + sparsely spiny; layers with >= 5 cells; "
           "5-fold, 3 seeds; chance = 1 / classes)"]
    for line in ("Pvalb-IRES-Cre", "Sst-IRES-Cre"):
        m = (lab["cre_line"] == line) & lab["dendrite_type"].isin(INTERNEURON)
        y = lab.loc[m, "layer"]
        y = y[y.map(y.value_counts()) >= 5]
        accs = [classify.cross_validate(X.loc[y.index], y, random_state=s).balanced_accuracy for s in SEEDS]
        per_layer = ", ".join(f"L{k} {n}" for k, n in y.value_counts().sort_index().items())
        out.append(f"  {line:16s} n = {len(y)} ({per_layer}): balanced accuracy "
                   f"{np.mean(accs):.3f} ± {np.std(accs):.3f} (chance {1 / y.nunique():.3f})")
    return out


def layer_pairs(X: pd.DataFrame, lab: pd.DataFrame) -> list[str]:
    out = ["\n## 3. layer pairs within one dendrite type (nested: feature, threshold and top-5 chosen on the "
           "training folds; 5-fold, 3 seeds)"]
    for kind, types in (("spiny", ("spiny",)), ("interneurons", INTERNEURON)):
        for a, b in LAYER_PAIRS:
            m = lab["dendrite_type"].isin(types) & lab["layer"].isin([a, b])
            y = lab.loc[m, "layer"]
            if y.value_counts().min() < 5 or y.nunique() < 2:
                continue
            r = pair_scores(X.loc[y.index], y)
            out.append(f"  {kind:12s} L{a:3s} vs L{b:3s} n = {(y == a).sum():3d} / {(y == b).sum():3d}: best single "
                       f"feature {r['single']:.3f} ({r['feature']}), best 5 {r['top5']:.3f}, all {r['all']:.3f}")
    return out


def home_layers(X: pd.DataFrame, lab: pd.DataFrame) -> list[str]:
    y = lab["layer"]
    p = classify.cross_validate(X, y, random_state=0).predictions
    s = lab.loc[(lab["dendrite_type"] == "spiny") & lab["cre_line"].isin(list(HOME_LAYER))]
    home = s["cre_line"].map(HOME_LAYER)
    away = s[s["layer"] != home]
    pred = p.loc[away.index, "predicted"]
    wrong_spiny = lab.index[(lab["dendrite_type"] == "spiny")]
    wrong_spiny = wrong_spiny[(p.loc[wrong_spiny, "true"] != p.loc[wrong_spiny, "predicted"]).to_numpy()]
    missed = int((pred != away["layer"]).sum())
    inside = s[s["layer"] == home]
    out = ["\n## 4. spiny cells of single-layer Cre lines whose soma label is another layer (default groups "
           "+ dendrite_form, seed 0)",
           f"  {len(s)} spiny cells of {len(HOME_LAYER)} single-layer lines; labelled outside the line's home layer: "
           f"{len(away)} ({len(away) / len(s):.0%}); the classifier calls {int((pred == home[away.index]).sum())} of them "
           f"the home layer, {int((pred == away['layer']).sum())} the label; layer accuracy on them "
           f"{1 - missed / len(away):.2f}, on the {len(inside)} labelled in the home layer "
           f"{(p.loc[inside.index, 'predicted'] == inside['layer']).mean():.2f}",
           f"  their {missed} errors are {missed / max(len(wrong_spiny), 1):.0%} of the {len(wrong_spiny)} spiny layer "
           "errors (all lines)"]

    def counts(v: pd.Series) -> str:
        return ", ".join(f"L{k} {n}" for k, n in v.value_counts().sort_index().items())

    for line, grp in away.groupby("cre_line"):
        out.append(f"    {line:18s} home L{HOME_LAYER[line]:3s} labelled {counts(grp['layer'])} -> predicted "
                   f"{counts(p.loc[grp.index, 'predicted'])}")
    return out


#: the Cre-line pairs that hold most of the 9-class errors (interneuron subclasses; L5 IT vs IT + ET lines)
CRE_PAIRS = [("Sst-IRES-Cre", "Pvalb-IRES-Cre"), ("Rbp4-Cre_KL100", "Rorb-IRES2-Cre")]


def cre_line(X: pd.DataFrame, lab: pd.DataFrame) -> list[str]:
    """The 9-class Cre score with the errors inside the two hard pairs corrected (what the rest of the
    lines allow), and each pair on its own: nested best single feature, best 5, all features, and for
    Sst vs Pvalb the full reconstructions (with the axon) apart from the dendrite-only ones."""
    y = cx.tasks(lab)["Cre line, 9 classes"]
    out = ["\n## 5. Cre line: the two hard pairs (default groups + dendrite_form; 5-fold, 3 seeds)"]
    measured, fixed = [], []
    for seed in SEEDS:
        p = classify.cross_validate(X.loc[y.index], y, random_state=seed).predictions
        q = p["predicted"].to_numpy(copy=True)
        for a, b in CRE_PAIRS:
            inside = p["true"].isin([a, b]).to_numpy() & p["predicted"].isin([a, b]).to_numpy()
            q[inside] = p["true"].to_numpy()[inside]
        measured.append(balanced_accuracy_score(p["true"], p["predicted"]))
        fixed.append(balanced_accuracy_score(p["true"], q))
    out.append(f"  9 classes as measured {np.mean(measured):.3f}; with every confusion inside the two pairs "
               f"corrected {np.mean(fixed):.3f}")
    for a, b in CRE_PAIRS:
        subsets = {"all": lab["cre_line"].isin([a, b])}
        if a.startswith("Sst"):
            for kind in ("full", "dendrite-only"):
                subsets[kind] = subsets["all"] & (lab["reconstruction_type"] == kind)
        for name, m in subsets.items():
            yy = lab.loc[m, "cre_line"]
            r = pair_scores(X.loc[yy.index], yy)
            out.append(f"  {a.split('-')[0]:5s} vs {b.split('-')[0]:5s} {name:13s} n = {(yy == a).sum():2d} / "
                       f"{(yy == b).sum():2d}: best single feature {r['single']:.3f} ({r['feature']}), best 5 "
                       f"{r['top5']:.3f}, all {r['all']:.3f}")
    return out


def main() -> None:
    t0 = time.perf_counter()
    lab = cx.labels()
    X = pd.read_parquet(os.path.join(cx.OUT, "cortex_features.parquet")).loc[lab.index]
    X.index = X.index.astype(str)
    log = [f"# morphology-only ceiling of layer and Cre line, Allen Cell Types ({len(X)} cells, {X.shape[1]} "
           "columns: default groups + dendrite_form; no soma depth)"]
    parts = (oracle, lambda X, lab: oracle(X, lab, lab["dendrite_type"]), within_line, layer_pairs, home_layers, cre_line)
    for part in parts:
        lines = part(X, lab)
        print("\n".join(lines), flush=True)
        log.extend(lines)
    log.append(f"\ntotal {time.perf_counter() - t0:.0f} s")
    print(log[-1])
    with open(os.path.join(cx.OUT, "cortex_ceiling.txt"), "w") as fh:
        fh.write("$ python benchmarks/cortex_ceiling.py\n" + "\n".join(log) + "\n")


if __name__ == "__main__":
    main()
