"""Soma-less skeletons: does the root estimate keep the features? (issue #11)

``python benchmarks/soma_less.py [--every N] [--workers K]`` from the project root (data in ../shared/data;
output also written to ``benchmarks/results/soma_less.txt``).

A skeleton whose soma lies outside the volume (hemibrain 722817260) or is not annotated is rooted wherever
the file puts it. The canonical form roots such a tree at the end of its longest unbranched end stretch
(:func:`neurograph.skeleton.resample.root_at_soma_end`). Here every N-th FAFB projection neuron loses its soma
and is rooted at a random tip (:func:`neurograph.perturb.drop_soma`, seeded per neuron); its features (default
groups, canonical form) are compared with those of the neuron with its soma, with the estimate and without it
(the tree kept at the file's root, what neurograph did before): where the estimated root lands, per-feature
Spearman correlation, and the lineage / uPN-mPN classifiers of ``benchmarks/transfer.py`` (5-fold CV, trained on
neurons with their soma) predicting the held-out neurons without it.
"""

from __future__ import annotations

import glob
import os
import sys
import time
import warnings
from multiprocessing import Pool
from unittest import mock

import numpy as np
import pandas as pd

import neurograph as ng
from neurograph import perturb
from neurograph.features.registry import DEFAULT_GROUPS
from neurograph.skeleton import resample as resample_module

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import _Tee  # noqa: E402
from transfer import FAFB, OUT, _seed, cache_path, cv_transfer, spearman_table, tasks, usable  # noqa: E402

warnings.filterwarnings("ignore")


def one(path: str) -> tuple[str, dict, dict, float]:
    """Features without the soma (estimated root, file root) and the estimated root's distance to the soma (µm)."""
    neuron = ng.load_swc(path, units="nm")
    name = os.path.splitext(os.path.basename(path))[0]
    bare = perturb.drop_soma(neuron, seed=_seed(path, "soma"))
    form = ng.canonical(bare)
    miss = float(np.linalg.norm(form.skeleton.vertices[form.skeleton.roots[0]] - neuron.somas[0].center)) / 1e3
    est = ng.neuron_features(bare, groups=DEFAULT_GROUPS).iloc[0].to_dict()
    with mock.patch.object(resample_module, "root_at_soma_end", lambda skeleton, twig_length=0.0: skeleton):
        kept = ng.neuron_features(bare, groups=DEFAULT_GROUPS).iloc[0].to_dict()
    return name, est, kept, miss


def main() -> int:
    args = sys.argv[1:]
    every = int(args[args.index("--every") + 1]) if "--every" in args else 4
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 2
    sys.stdout = _Tee(sys.__stdout__, open(os.path.join(OUT, "soma_less.txt"), "w", encoding="utf-8"))
    t0 = time.perf_counter()
    clean = pd.read_parquet(cache_path("clean", "canonical"))
    files = sorted(glob.glob(os.path.join(FAFB, "swc", "*.swc")))[::every]
    with Pool(workers) as pool:
        rows = pool.map(one, files, chunksize=2)
    names = [r[0] for r in rows]
    est = pd.DataFrame([r[1] for r in rows], index=pd.Index(names, name="neuron"), columns=clean.columns)
    kept = pd.DataFrame([r[2] for r in rows], index=est.index, columns=clean.columns)
    miss = pd.Series([r[3] for r in rows], index=est.index)
    print(f"== FAFB: {len(names)} neurons (every {every}th) without their soma, rooted at a random tip; "
          f"{time.perf_counter() - t0:.0f} s")
    print(f"estimated root within 5 µm of the soma centre: {int((miss < 5).sum())}/{len(miss)}; "
          f"distance median {miss.median():.1f} µm, 90th percentile {miss.quantile(0.9):.0f} µm")
    requires = ng.feature_table()["requires"]
    cols = [c for c in usable(clean) if "soma" not in requires[c].split(",")]
    print(f"per-feature Spearman, with soma vs without ({len(cols)} columns that do not need a soma):")
    for label, table in (("estimated root", est), ("file's root (before)", kept)):
        r = spearman_table(clean, table, cols).dropna()
        print(f"  {label:22s} {(r >= 0.9).mean():6.1%} of {len(r)} columns >= 0.9 (median rho {r.median():.3f})")
    print("balanced accuracy, 5-fold CV (seed 0), trained on neurons with their soma; held-out neurons with -> without:")
    for task, y in tasks(clean.index).items():
        if task == "transmitter":
            continue
        X = {"clean": clean[cols], "estimated": est[cols], "file_root": kept[cols]}
        s = cv_transfer(X, y)
        print(f"  {task:10s} estimated root {s['estimated'][0]:.3f} -> {s['estimated'][1]:.3f} | "
              f"file's root {s['file_root'][0]:.3f} -> {s['file_root'][1]:.3f}")
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
