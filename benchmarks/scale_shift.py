"""Tissue scale between datasets: how much it costs, and what `classify.estimate_scale` recovers (issue #11).

``python benchmarks/scale_shift.py [--workers 2] [--recompute]`` from the project root (data in
../shared/data; output also written to ``benchmarks/results/scale_shift.txt``).

Datasets shrink differently in preparation, so the same cell type measures longer in one
connectome than in another. Here the FAFB projection neurons stand for both datasets: the
lineage classifier (default features and model, 5-fold CV) is trained on the clean training folds
and predicts the held-out neurons scaled by 1.2 or 1/1.2 (:func:`neurograph.perturb.scale`,
features recomputed; tables cached as ``scale_shift_<factor>.parquet``), for three target sets:
all held-out neurons, only those of three lineages (adPN, lPN, lvPN: another mix of types
than the training set, as in issue #11's test on another connectome), and each lineage's held-out
neurons alone (a study of one cell type). Per fold and target set the scale is estimated without
labels (:func:`neurograph.classify.estimate_scale`, target against the training folds; each neuron
matched by shape to its nearest training neurons, the default, and whole-table medians,
``neighbours=None``) and undone in two ways: every length column divided by it (cheap, approximate:
cable in fixed-radius shells does not scale so), and the neurons rescaled by its inverse with
their features recomputed (exact; fold seed 0 only). Last, the five hemibrain DA1 lPNs: their
estimate by both estimators and the lineage after
rescaling.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from multiprocessing import Pool

import numpy as np
import pandas as pd
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold

import neurograph as ng
from neurograph import classify, perturb
from neurograph.features.registry import DEFAULT_GROUPS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import _Tee  # noqa: E402
from transfer import FAFB, OUT, cache_path, hemibrain_neurons, tasks, usable  # noqa: E402

warnings.filterwarnings("ignore")  # incl. estimate_scale's DataWarning: a fold holds 5-20 neurons of a lineage
SCALES = (1.2, 1 / 1.2)
THREE = ("adPN", "lPN", "lvPN")
SEEDS = (0, 1, 2)


def features_at(job: tuple[str, float]) -> tuple[str, dict]:
    """Default features (canonical form) of one FAFB neuron scaled by ``factor``."""
    path, factor = job
    neuron = ng.load_swc(path, units="nm")
    if factor != 1.0:
        neuron = perturb.scale(neuron, factor)
    return os.path.splitext(os.path.basename(path))[0], ng.neuron_features(neuron, groups=DEFAULT_GROUPS).iloc[0].to_dict()


def table_at(names: list[str], factor: float, pool: Pool) -> pd.DataFrame:
    rows = dict(pool.map(features_at, [(os.path.join(FAFB, "swc", f"{n}.swc"), factor) for n in names], chunksize=4))
    return pd.DataFrame.from_dict(rows, orient="index").loc[names]


def length_power(cols: list[str]) -> pd.Series:
    """How each column scales with the tissue: 1 for lengths and radii (µm, nm), 2 for µm², -1 for
    densities per µm or mm, 0 otherwise (counts, fractions, angles)."""
    unit = ng.feature_table()["unit"].reindex(cols).fillna("")
    power = np.select([unit.isin(["µm", "nm", "µm²/µm"]), unit == "µm²", unit.isin(["1/µm", "1/mm"])], [1.0, 2.0, -1.0], 0.0)
    return pd.Series(power, index=cols)


def main() -> int:
    args = sys.argv[1:]
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 2
    sys.stdout = _Tee(sys.__stdout__, open(os.path.join(OUT, "scale_shift.txt"), "w", encoding="utf-8"))
    t0 = time.perf_counter()
    clean = pd.read_parquet(cache_path("clean", "canonical"))
    cols = [c for c in usable(clean) if pd.api.types.is_numeric_dtype(clean[c])]
    y = tasks(clean.index)["lineage"]
    names = list(clean.index)
    power = length_power(cols)
    scaled = {}
    with Pool(workers) as pool:
        for factor in SCALES:
            path = os.path.join(OUT, f"scale_shift_{factor:.4f}.parquet")
            if "--recompute" in args or not os.path.exists(path):
                t = time.perf_counter()
                table_at(names, factor, pool).to_parquet(path)
                print(f"features of the {len(names)} FAFB PNs at x{factor:.3f}: {time.perf_counter() - t:.0f} s")
            scaled[factor] = pd.read_parquet(path)[cols]
        scaled[1.0] = clean[cols]
        print(f"== FAFB lineage ({len(y)} neurons, {y.nunique()} lineages), trained on clean training folds, held-out "
              "neurons scaled; balanced accuracy, mean of fold seeds "
              f"{SEEDS} (exact rescaling: seed 0); estimated scale per fold and target set [min-max]; estimators: "
              "'matched' (default: each neuron against its 10 nearest training neurons in shape) and 'plain' "
              "(neighbours=None: whole-table medians)")
        for factor in (1.0, *SCALES):
            for target in ("all", "three", "each"):
                for how, k in (("matched", classify.align.NEIGHBOURS), ("plain", None)):
                    acc = {m: [] for m in ("none", "divided", "rescaled")}
                    est = []
                    for seed in SEEDS:
                        pred = {m: pd.Series(index=y.index, dtype=object) for m in acc}
                        held = []
                        for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed).split(y.index, y):
                            train, test = y.index[tr], y.index[te]
                            if target == "three":
                                test = test[y.loc[test].isin(THREE)]
                            held.extend(test)
                            model = classify.train(clean.loc[train, cols], y.loc[train])
                            # the target sets whose scale is estimated: the held-out neurons together, or
                            # each lineage's alone (a study of one cell type in a new dataset)
                            sets = [test] if target != "each" else [test[y.loc[test] == lin] for lin in y.unique()]
                            for part in sets:
                                X = scaled[factor].loc[part]
                                s = classify.estimate_scale(X, clean.loc[train, cols], neighbours=k)
                                est.append(s)
                                pred["none"][part] = classify.predict(model, X)["predicted"].to_numpy()
                                pred["divided"][part] = classify.predict(model, X / s ** power)["predicted"].to_numpy()
                                if seed == 0:
                                    Xr = table_at(list(part), factor / s, pool)[cols]
                                    pred["rescaled"][part] = classify.predict(model, Xr)["predicted"].to_numpy()
                        for m in acc:
                            if m != "rescaled" or seed == 0:
                                acc[m].append(balanced_accuracy_score(y.loc[held], pred[m].loc[held].astype(str)))
                    label = {"all": "all held-out", "three": "adPN/lPN/lvPN only", "each": "each lineage alone"}[target]
                    print(f"  x{factor:.3f} {label:18s} ({len(held)} neurons) {how:7s} | as measured "
                          f"{np.mean(acc['none']):.3f} | lengths divided by the estimate {np.mean(acc['divided']):.3f} | "
                          f"seed 0: as measured {acc['none'][0]:.3f}, neurons rescaled by the estimate "
                          f"{acc['rescaled'][0]:.3f} | estimate {np.min(est):.3f}-{np.max(est):.3f}", flush=True)
    model = classify.train(clean.loc[y.index, cols], y)
    print("== FAFB -> the 5 hemibrain DA1 lPNs (one type): lineage after rescaling by their own estimate")
    for source in ("skeleton", "mesh"):
        ids, neurons, _ = hemibrain_neurons(source)
        F = ng.neuron_features(neurons, groups=DEFAULT_GROUPS)
        F.index = ids
        before = classify.predict(model, F.reindex(columns=cols))["predicted"]
        for how, k in (("matched", classify.align.NEIGHBOURS), ("plain", None)):
            s = classify.estimate_scale(F.reindex(columns=cols), clean.loc[y.index, cols], neighbours=k)  # the training neurons
            G = ng.neuron_features([perturb.scale(n, 1 / s) for n in neurons], groups=DEFAULT_GROUPS)
            G.index = ids
            after = classify.predict(model, G.reindex(columns=cols))["predicted"]
            print(f"  from {source:8s} {how:7s}: estimate {s:.3f}; lPN {int((before == 'lPN').sum())}/5 as measured "
                  f"{before.tolist()}, {int((after == 'lPN').sum())}/5 rescaled {after.tolist()}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
