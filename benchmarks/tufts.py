"""Does cable density at glomerulus scale separate uniglomerular from multiglomerular PNs? (issue #11)

``python benchmarks/tufts.py [--seeds N]`` from the project root (data in ../shared/data; output also written
to ``benchmarks/results/tufts.txt``). Needs the clean and perturbed canonical tables of
``benchmarks/transfer.py`` (``benchmarks/results/transfer_<kind>_canonical.parquet``; run it first).

1. The opt-in ``tufts`` group (:mod:`neurograph.features.tufts`) on the 346 FAFB projection neurons, clean and
   under the perturbations of ``transfer.py`` (the same seeds, every 4th neuron): per column the uPN/mPN ROC AUC,
   the Spearman correlation with Bates et al.'s ``density_in_top`` (share of the dendrite in the top glomerulus,
   measured with glomerulus meshes; not a feature: a reference) and clean-vs-perturbed Spearman.
2. 5-fold CV balanced accuracy of the default classifier, mean and sd over ``N`` fold seeds (default 10):
   default columns against default + tufts, lineage and uPN/mPN; and the ceiling of the uPN/mPN labels:
   ``density_in_top`` alone (best threshold, and extra trees) and added to the default columns.
3. FAFB -> hemibrain DA1 (5 lPN) with default + tufts, from skeletons and meshes.
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

import neurograph as ng
from neurograph import classify, perturb

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transfer as T  # noqa: E402  (benchmarks/transfer.py: data paths, tasks, CV, perturbation seeds)
from classify import _Tee  # noqa: E402

warnings.filterwarnings("ignore", category=RuntimeWarning)
warnings.filterwarnings("ignore", message=".*no radii")  # FAFB SWCs without radii: the tufts group needs none
CACHE = os.path.join(T.OUT, "tufts_{kind}.parquet")


def extract(job: tuple[str, str]) -> tuple[str, dict]:
    path, kind = job
    neuron = ng.load_swc(path, units="nm")
    if kind != "clean":
        neuron = perturb.perturb(neuron, kind, seed=T._seed(path, kind))
        if kind in ("fragments", "all"):
            neuron = ng.heal(neuron)
    return os.path.splitext(os.path.basename(path))[0], ng.features.vector.feature_row(neuron, ["tufts"])


def tables(files: list[str]) -> dict[str, pd.DataFrame]:
    from multiprocessing import Pool

    out = {}
    for kind in T.KINDS:
        p = CACHE.format(kind=kind)
        these = files if kind == "clean" else files[::4]
        if os.path.exists(p):
            out[kind] = pd.read_parquet(p)
            continue
        t0 = time.perf_counter()
        with Pool(2) as pool:
            rows = dict(pool.imap(extract, [(f, kind) for f in these], chunksize=4))
        out[kind] = pd.DataFrame(rows).T.astype(float).rename_axis("neuron")
        out[kind].to_parquet(p)
        print(f"  tufts, {kind}: {len(these)} neurons in {time.perf_counter() - t0:.0f} s", flush=True)
    return out


def cv(X: pd.DataFrame, y: pd.Series, seeds: int) -> str:
    s = [T.cv_transfer({"clean": X}, y, seed)["clean"][1] for seed in range(seeds)]
    return f"{np.mean(s):.3f} ± {np.std(s):.3f}"


def main() -> int:
    if not os.path.isdir(T.FAFB):
        print(f"no data at {T.FAFB}", file=sys.stderr)
        return 1
    args = sys.argv[1:]
    seeds = int(args[args.index("--seeds") + 1]) if "--seeds" in args else 10
    sys.stdout = _Tee(sys.__stdout__, open(os.path.join(T.OUT, "tufts.txt"), "w", encoding="utf-8"))
    t_start = time.perf_counter()
    files = sorted(T.glob.glob(os.path.join(T.FAFB, "swc", "*.swc")))
    tufts = tables(files)
    base = {k: pd.read_parquet(T.cache_path(k, "canonical")) for k in T.KINDS}
    cols = T.usable(base["clean"])
    X = base["clean"][cols]
    y_tasks = T.tasks(X.index)
    labels = pd.read_csv(os.path.join(T.FAFB, "bates2020_mmc4_labels.csv"))
    labels.index = labels["skeleton_id"].astype(str)
    y = y_tasks["PN_type"]
    top = labels["density_in_top"].reindex(y.index)
    rho = T.spearman_table(tufts["clean"], tufts["all"], list(tufts["clean"].columns))
    print(f"== opt-in 'tufts' group on {len(X)} FAFB PNs (canonical form): uPN/mPN ROC AUC (orientation-free), "
          "Spearman with density_in_top, clean-vs-perturbed Spearman (lowest over (a)-(f))")
    for c in tufts["clean"].columns:
        v = tufts["clean"].loc[y.index, c]
        auc = roc_auc_score(y == "uPN", v.fillna(v.median()))  # max(AUC, 1 - AUC) below: either direction
        worst = min(T.spearman_table(tufts["clean"], tufts[k], [c])[c] for k in perturb.KINDS)
        print(f"  {c:28s} AUC {max(auc, 1 - auc):.3f}  rho(density_in_top) {spearmanr(v, top, nan_policy='omit')[0]:.2f}"
              f"  perturbed rho >= {worst:.2f} (all at once {rho[c]:.2f})")
    aucs = {}
    for c in cols:
        v = X.loc[y.index, c]
        if v.notna().sum() > 10 and v.nunique() > 2:
            a = roc_auc_score(y == "uPN", v.fillna(v.median()))
            aucs[c] = max(a, 1 - a)
    name = max(aucs, key=aucs.get)
    print(f"  best default column: {name} AUC {aucs[name]:.3f}")
    print(f"\n== 5-fold CV balanced accuracy, default classifier, mean ± sd over {seeds} fold seeds")
    XT = X.join(tufts["clean"])
    for task in ("lineage", "PN_type"):
        yy = y_tasks[task]
        print(f"  {task:8s} default {cv(X, yy, seeds)} | default + tufts {cv(XT, yy, seeds)}", flush=True)
    oracle = top.fillna(0).to_frame("density_in_top")
    thr = max((float(np.mean([((top >= t) == (y == "uPN"))[y == c].mean() for c in ("uPN", "mPN")])), t)
              for t in np.unique(top.dropna()))
    print(f"  uPN/mPN ceiling with the glomerulus-mesh reference density_in_top (not a feature): one threshold "
          f"({thr[1]:.3f}) {thr[0]:.3f}; extra trees on it alone {cv(oracle, y, seeds)}; default columns + it "
          f"{cv(X.join(oracle), y, seeds)}")
    print("\n== FAFB -> hemibrain DA1 (5 lPN), lineage model on default + tufts")
    yl = y_tasks["lineage"]
    model = classify.train(XT.loc[yl.index], yl)
    for source in ("skeleton", "mesh"):
        ids, neurons, _ = T.hemibrain_neurons(source)
        F = ng.neuron_features(neurons, groups=T.DEFAULT_GROUPS + ("tufts",))
        F.index = ids
        pred = classify.predict(model, F[XT.columns])
        print(f"  from {source:8s}: {int((pred['predicted'] == 'lPN').sum())}/5 lPN [" + ", ".join(
            f"{p} ({q:.2f})" for p, q in zip(pred["predicted"], pred["probability"])) + "]")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
