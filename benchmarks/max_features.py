"""How many columns should extra trees draw at each split? (issue #11)

``python benchmarks/max_features.py`` (from the project root; data in ../shared/data; output also written to
``benchmarks/results/classify_max_features.txt``). Needs the feature caches of ``benchmarks/transfer.py``
(``transfer_clean_canonical.parquet``: FAFB, default groups, canonical form) and ``benchmarks/cortex.py``
(``cortex_features.parquet``); the NeuroMorpho features are computed here (~30 s).

The default classifier (extra trees, 500 trees, balanced class weights) with ``max_features`` = "sqrt" (the
default, :data:`neurograph.classify.pipeline.EXTRA_TREES_MAX_FEATURES`) and 0.33 (a third of the columns) on every
labelled dataset the project ships: FAFB lineage / uPN-mPN / ACh-GABA (no position columns), Allen cortex
spiny / layer / Cre line, M1 Patch-seq families (62 precomputed morphometrics) and NeuroMorpho families.
Stratified 5-fold balanced accuracy, seed 0 and the mean over fold seeds 0-2. Within a dataset 0.33 scores
higher; across datasets it transfers worse (``benchmarks/transfer.py`` with 0.33 as the default:
``benchmarks/results/transfer_max_features_0.33.txt``), so sqrt stays the default. The last lines show where
the FAFB lineage model's importance goes (``--importance-only``: just these, appended to the output).
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

import neurograph as ng
from neurograph import classify
from neurograph.classify.pipeline import EXTRA_TREES_MAX_FEATURES

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cortex  # noqa: E402
import transfer  # noqa: E402
from classify import _Tee  # noqa: E402

warnings.filterwarnings("ignore")
OUT = transfer.OUT
DATA = transfer.DATA
VALUES = ("sqrt", 0.33)
SEEDS = (0, 1, 2)


def datasets() -> dict[str, tuple[pd.DataFrame, pd.Series]]:
    out = {}
    fafb = pd.read_parquet(transfer.cache_path("clean", "canonical"))
    fafb = fafb[transfer.usable(fafb)]
    for task, y in transfer.tasks(fafb.index).items():
        out[f"FAFB {task}"] = (fafb, y)
    cx = pd.read_parquet(os.path.join(OUT, "cortex_features.parquet"))
    cx = cx.loc[:, cx.notna().any()]
    for task, y in cortex.tasks(cortex.labels()).items():
        y = y[y.index.isin(cx.index)]
        out[f"Allen {task.split(',')[0]}"] = (cx, y)
    root = os.path.join(DATA, "m1_patchseq_scala2021")
    feats = pd.read_csv(os.path.join(root, "m1_patchseq_morph_features.csv"), index_col=0)
    meta = pd.read_csv(os.path.join(root, "m1_patchseq_meta_data.csv"), sep="\t", index_col="Cell")
    fam = meta["RNA family"].reindex(feats.index)
    m1 = feats.drop(columns=["cell class", "normalized layer"])
    for tag, families in (("inhibitory", ["Pvalb", "Sst", "Vip", "Lamp5"]), ("excitatory", ["IT", "ET", "CT"])):
        out[f"M1 {tag}"] = (m1, fam[fam.isin(families)])
    root = os.path.join(DATA, "nmo_families_127")
    labels = pd.read_csv(os.path.join(root, "labels.csv"))
    nmo = ng.neuron_features([ng.load_swc(os.path.join(root, f), units="um") for f in labels["file"]])
    out["NeuroMorpho families"] = (nmo.loc[:, nmo.notna().any()], pd.Series(labels["family"].to_numpy(), index=nmo.index))
    return out


def score(X: pd.DataFrame, y: pd.Series, model) -> list[float]:
    return [classify.cross_validate(X.loc[y.index], y, model=model, random_state=s).balanced_accuracy
            for s in SEEDS]


def concentration() -> None:
    """Where the lineage model trained on all FAFB puts its (impurity) importance, per max_features: the share
    of the 10 most important columns and of the soma-position columns (``transfer.SOMA_PLACE``)."""
    fafb = pd.read_parquet(transfer.cache_path("clean", "canonical"))
    fafb = fafb[transfer.usable(fafb)]
    y = transfer.tasks(fafb.index)["lineage"]
    soma = [c for c in fafb.columns if transfer.SOMA_PLACE.search(c)]
    for v in VALUES:
        model = classify.train(fafb.loc[y.index], y, max_features=v)
        imp = pd.Series(model["model"].feature_importances_, index=model.feature_names_in_).sort_values(ascending=False)
        print(f"  FAFB lineage model, max_features {v}: the 10 most important columns hold {imp.head(10).sum():.2f} of "
              f"the importance, the {len(soma)} soma-position columns {imp[soma].sum():.2f}; top 5: "
              + ", ".join(f"{c} {x:.3f}" for c, x in imp.head(5).items()), flush=True)


def main() -> int:
    if not os.path.isdir(DATA):
        print(f"no data at {DATA}", file=sys.stderr)
        return 1
    only = "--importance-only" in sys.argv  # append the importance lines to an existing output
    sys.stdout = _Tee(sys.__stdout__, open(os.path.join(OUT, "classify_max_features.txt"), "a" if only else "w",
                                           encoding="utf-8"))
    t0 = time.perf_counter()
    if only:
        concentration()
        return 0
    print("extra trees max_features: 5-fold balanced accuracy, seed 0 [mean of fold seeds 0-2]; default "
          f"{EXTRA_TREES_MAX_FEATURES}")
    print(f"  {'dataset / task':28s} {'n':>4s} {'cols':>5s} " + " ".join(f"{str(v):>15s}" for v in VALUES))
    for name, (X, y) in datasets().items():
        row = []
        for v in VALUES:
            s = score(X, y, classify.build_pipeline("extra_trees", max_features=v))
            row.append(f"{s[0]:.3f} [{np.mean(s):.3f}]")
        print(f"  {name:28s} {len(y):4d} {X.shape[1]:5d} " + " ".join(f"{r:>15s}" for r in row), flush=True)
    concentration()
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
