"""Do features travel between reconstructions? (issue #11)

``python benchmarks/transfer.py [--recompute] [--limit N] [--workers K] [--seeds S]`` from the project root (data in
../shared/data; output also written to ``benchmarks/results/transfer.txt``; feature tables cached as
``benchmarks/results/transfer_<kind>_<form>.parquet`` and re-extracted when missing, when the registered columns
change or with ``--recompute``).

1. FAFB olfactory projection neurons (346 hand-traced EM skeletons, nm; labels of Bates et al. 2020),
   features of every neuron clean and after each perturbation of :mod:`neurograph.perturb` (seeded per
   neuron): (a) twigs of 0.3-3 µm until 2.7x the branch points, (b) 2-6 pieces with 0.2-5 µm gaps, healed as a
   user would (``neurograph.heal``, what ``load_swc(heal=True)`` runs), (c) node spacing 0.25x-4x, (d) random
   rotation + mirror, (e) radii dropped or constant, (f) all of them (healed).
   Features in two forms: ``canonical`` (the default of ``neuron_features``: skeleton shape on the canonical
   form) and ``raw`` (everything on the neuron as given: what neurograph did before issue #11).
2. Per feature: Spearman correlation over neurons, clean vs perturbed.
3. Classifiers (default pipeline, no position features): 5-fold stratified CV on clean FAFB; each fold's model
   (trained on clean training folds) also predicts the *perturbed* held-out neurons. Balanced accuracy clean vs
   perturbed, same folds, same neurons.
4. Train on all FAFB, predict the 5 hemibrain DA1 neurons (lineage lPN) from their skeletons (8 nm voxels,
   healed) and from their meshes (``neurograph.extract``).
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
import time
import warnings
import zlib
from multiprocessing import Pool

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import StratifiedKFold

import neurograph as ng
from neurograph import classify, perturb
from neurograph.features.registry import DEFAULT_GROUPS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from classify import _Tee  # noqa: E402  (benchmarks/classify.py: print to the terminal and a file)

warnings.filterwarnings("ignore", category=RuntimeWarning)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(os.path.dirname(ROOT), "shared", "data")
OUT = os.path.join(ROOT, "benchmarks", "results")
FAFB = os.path.join(DATA, "fafb_olfactory_pns")
HEMI = os.path.join(DATA, "hemibrain_da1")
KINDS = ("clean",) + perturb.KINDS
LETTER = dict(zip(perturb.KINDS, "abcdef"))
FORMS = ("canonical", "raw")
TARGETS = {"lineage": 0.95, "PN_type": 0.93, "transmitter": 0.95}
SEEDS = (0, 1, 2)  # fold shuffles; seed 0 is the headline, the mean over all is printed too


def _seed(path: str, kind: str) -> int:
    return zlib.crc32(f"{os.path.basename(path)}:{kind}".encode())


def extract_one(job: tuple[str, str, tuple]) -> tuple[str, str, dict, dict]:
    """Features of one FAFB neuron, clean or perturbed (in the forms asked for) and what the perturbation did."""
    path, kind, forms = job
    neuron = ng.load_swc(path, units="nm")
    info = {"nodes_clean": neuron.skeleton.n_nodes,
            "branch_points_clean": int((neuron.skeleton.children_count() >= 2).sum())}
    if kind != "clean":
        neuron = perturb.perturb(neuron, kind, seed=_seed(path, kind))
        info["pieces"] = len(neuron.skeleton.roots)
        info["branch_points"] = int((neuron.skeleton.children_count() >= 2).sum())
        info["nodes"] = neuron.skeleton.n_nodes
        if kind in ("fragments", "all"):
            neuron = ng.heal(neuron)
            joins = ng.heal_report(neuron)
            info["pieces_healed"] = len(neuron.skeleton.roots)
            info["gap_um_max"] = float(joins["gap_um"].max()) if len(joins) else 0.0
    rows = {form: ng.neuron_features(neuron, groups=DEFAULT_GROUPS, form=form).iloc[0].to_dict() for form in forms}
    name = os.path.splitext(os.path.basename(path))[0]
    return name, kind, rows, info


def cache_path(kind: str, form: str) -> str:
    return os.path.join(OUT, f"transfer_{kind}_{form}.parquet")


def load_tables(files: list[str], workers: int, recompute: bool, every: int) -> tuple[dict, pd.DataFrame]:
    """Feature tables per (kind, form): every neuron clean, every ``every``-th perturbed. Only the
    (kind, form) tables missing from the cache (or with other columns) are extracted: delete
    ``transfer_<kind>_<form>.parquet`` after changing how one form is computed."""
    columns = list(ng.feature_table(DEFAULT_GROUPS).index)
    subset = {"clean": files}
    tables, infos, todo = {}, [], []
    info_path = os.path.join(OUT, "transfer_perturbations.parquet")
    old_info = pd.read_parquet(info_path) if os.path.exists(info_path) and not recompute else None
    for kind in KINDS:
        these = subset.get(kind, files[::every])
        names = [os.path.splitext(os.path.basename(f))[0] for f in these]
        stale = []
        for form in FORMS:
            p = cache_path(kind, form)
            t = pd.read_parquet(p) if os.path.exists(p) and not recompute else None
            if t is not None and list(t.columns) == columns and set(names) <= set(t.index):
                tables[kind, form] = t.loc[names]
            else:
                stale.append(form)
        has_info = old_info is not None and kind in old_info["kind"].values
        if has_info:
            infos.append(old_info[old_info["kind"] == kind])
        if stale or not has_info:
            todo += [(f, kind, tuple(stale)) for f in these]
    if todo:
        kinds_todo = sorted({k for _, k, _ in todo}, key=KINDS.index)
        print(f"extracting features for {len(todo)} (neuron, perturbation) pairs ("
              + ", ".join(f"{k}: {'+'.join(next(fs for _, kk, fs in todo if kk == k)) or 'info only'}" for k in kinds_todo)
              + f") with {workers} worker(s)")
        t0 = time.perf_counter()
        expected = {k: sum(1 for _, kk, _ in todo if kk == k) for k in kinds_todo}
        got = {k: [] for k in kinds_todo}
        with Pool(workers) as pool:  # in order, so each kind is saved as soon as it is complete
            for name, kind, forms, info in pool.imap(extract_one, todo, chunksize=2):
                rows = got[kind]
                rows.append((name, forms, info))
                if len(rows) < expected[kind]:
                    continue
                for form in rows[0][1]:
                    t = pd.DataFrame([r[1][form] for r in rows], index=pd.Index([r[0] for r in rows], name="neuron"),
                                     columns=columns)
                    t.to_parquet(cache_path(kind, form))
                    tables[kind, form] = t.sort_index()
                infos = [d for d in infos if not (d["kind"] == kind).all()]
                infos.append(pd.DataFrame([dict(neuron=r[0], kind=kind, **r[2]) for r in rows]))
                pd.concat(infos, ignore_index=True).to_parquet(info_path)
                print(f"  {kind}: {len(rows)} neurons in {time.perf_counter() - t0:.0f} s so far", flush=True)
        print(f"  {time.perf_counter() - t0:.0f} s ({(time.perf_counter() - t0) / len(todo):.2f} s per pair, "
              f"wall, {workers} workers)")
        pd.concat(infos, ignore_index=True).to_parquet(info_path)
    return tables, pd.concat(infos, ignore_index=True)


def tasks(index: pd.Index) -> dict[str, pd.Series]:
    """The three FAFB label tasks of benchmarks/classify.py (lineages with >= 20 of the 346 neurons)."""
    labels = pd.read_csv(os.path.join(FAFB, "bates2020_mmc4_labels.csv"))
    labels.index = labels["skeleton_id"].astype(str)
    lab = labels.reindex(index)
    tn = lab["trivial_name"]
    big = tn.value_counts()
    return {"lineage": tn[tn.isin(big[big >= max(5, round(20 * len(index) / 346))].index)],
            "PN_type": lab["PN_type"].dropna(),
            "transmitter": lab["transmitter"][lab["transmitter"].isin(["ACh", "GABA"])]}


def usable(table: pd.DataFrame) -> list[str]:
    """Default columns with data on clean FAFB (SWC skeletons have no mesh, synapses, spines)."""
    return [c for c in table.columns if table[c].notna().any()]


def spearman_table(clean: pd.DataFrame, pert: pd.DataFrame, cols: list[str]) -> pd.Series:
    """Spearman rho over the neurons of ``pert``, clean vs perturbed, per column. Values are first rounded to
    1e-9 of the column's largest magnitude (rounding noise must not break ties). NaN for a column without
    10 finite, varying clean values; -1 where the perturbation leaves fewer than 10 finite values."""
    clean = clean.loc[pert.index]
    out = {}
    for c in cols:
        a, b = clean[c].to_numpy(float), pert[c].to_numpy(float)
        scale = np.nanmax(np.abs(a)) if np.isfinite(a).any() else 1.0
        a, b = np.round(a / (scale or 1.0), 9), np.round(b / (scale or 1.0), 9)
        fa = np.isfinite(a)
        if fa.sum() < 10 or np.ptp(a[fa]) == 0:
            out[c] = np.nan
            continue
        ok = fa & np.isfinite(b)
        if ok.sum() < 10:
            out[c] = -1.0
            continue
        out[c] = spearmanr(a[ok], b[ok]).statistic if np.ptp(b[ok]) > 0 else 0.0
    return pd.Series(out)


def cv_transfer(X: dict[str, pd.DataFrame], y: pd.Series, seed: int = 0) -> dict[str, tuple[float, float]]:
    """Per perturbation: (clean, perturbed) balanced accuracy, mean over folds, on the held-out neurons that
    have a perturbed version; ``clean`` also gives the plain CV score over all neurons."""
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    base = classify.build_pipeline(classify.DEFAULT_MODEL, seed)
    Xc = X["clean"].loc[y.index]
    yv = y.to_numpy()
    scores = {k: ([], []) for k in X}
    for tr, te in splitter.split(Xc, yv):
        pipe = clone(base).fit(Xc.iloc[tr], yv[tr])
        names = Xc.index[te]
        pred_clean = pd.Series(pipe.predict(Xc.iloc[te]), index=names)
        truth = pd.Series(yv[te], index=names)
        for kind, table in X.items():
            sub = names[names.isin(table.index)]
            if not len(sub):  # a small subset (--limit) can leave a fold without perturbed neurons
                continue
            pred = pred_clean[sub] if kind == "clean" else pipe.predict(table.loc[sub])
            scores[kind][0].append(balanced_accuracy_score(truth[sub], pred_clean[sub]))
            scores[kind][1].append(balanced_accuracy_score(truth[sub], pred))
    return {k: (float(np.mean(a)), float(np.mean(b))) for k, (a, b) in scores.items()}


_HEMI: dict = {}


def hemibrain_neurons(source: str) -> tuple[list[str], list, list[str]]:
    """The 5 hemibrain DA1 neurons from skeletons (healed) or meshes, loaded once."""
    if source not in _HEMI:
        ids = sorted(json.load(open(os.path.join(HEMI, "meta.json"))))
        neurons, info = [], []
        for sid in ids:
            if source == "skeleton":
                n = ng.load_swc(os.path.join(HEMI, "swc", f"{sid}.swc"), units="voxel", voxel_size=8, heal=True)
                info.append(f"{len(ng.heal_report(n))} joins, {len(n.somas)} soma")
            else:
                n = ng.extract(os.path.join(HEMI, "obj", f"{sid}.obj"), voxel_size=8, spines=False)
                info.append(f"{len(n.skeleton.roots)} roots, {len(n.somas)} soma")
            neurons.append(n)
        _HEMI[source] = (ids, neurons, info)
    return _HEMI[source]


#: what the 5 hemibrain DA1 neurons are, per task: lateral-lineage, uniglomerular, cholinergic PNs (as
#: all 8 FAFB DA1 lPNs of Bates et al. are: uPN, ACh, mALT)
DA1_TRUTH = {"lineage": "lPN", "PN_type": "uPN", "transmitter": "ACh"}


def hemibrain(X: pd.DataFrame, y: pd.Series, form: str, task: str = "lineage") -> list[str]:
    """FAFB -> the 5 hemibrain DA1 neurons for one task (skeletons and meshes); the lineage also
    gets the same-type diagnosis."""
    lines = []
    model = classify.train(X.loc[y.index], y)
    truth = DA1_TRUTH[task]
    for source in ("skeleton", "mesh"):
        t0 = time.perf_counter()
        ids, neurons, info = hemibrain_neurons(source)
        F = ng.neuron_features(neurons, groups=DEFAULT_GROUPS, form=form)
        F.index = ids
        pred = classify.predict(model, F)
        n_ok = int((pred["predicted"] == truth).sum())
        lines.append(f"  {form:9s} {task:11s} from {source:8s}: {n_ok}/5 {truth}  [" + ", ".join(
            f"{sid}: {p} ({q:.2f}; {i})" for sid, p, q, i in zip(ids, pred["predicted"], pred["probability"], info))
            + f"]  ({time.perf_counter() - t0:.0f} s)")
        if source == "skeleton" and form == "canonical" and task == "lineage":
            lines += da1_diagnosis(X, F, model, neurons, ids)
    return lines


#: columns measured from the soma's position in space (radial distances, Sholl spheres, soma-anchored
#: backbone and arbor distances and angles, the soma in the arbor frame): the diagnosis drops them
SOMA_PLACE = re.compile(r"radial|sholl|backbone_d|backbone_r_|backbone_arbor1|soma_to_centroid|arbor\d_distance|"
                        r"arbor\d_detour|angle_|_frame_|soma_pc|first_branch_distance|primary_neurite_detour|"
                        r"cable_within|branch_points_near_soma|tip_detour")
SIZE_COLUMNS = ("extent_pc1", "max_radial_distance", "arbor12_distance", "max_path_length", "total_length",
                "tortuosity_q50", "arbor1_distance", "arbor1_spread")


def da1_diagnosis(X: pd.DataFrame, F: pd.DataFrame, model, neurons: list, ids: list) -> list[str]:
    """The same cell type in two connectomes: hemibrain DA1 lPNs against FAFB's DA1 lPNs (labels of
    Bates et al.), per feature (median difference in units of the FAFB standard deviation), and the
    predictions of the hemibrain skeletons shrunk to FAFB size (a diagnosis that uses the labels, not a
    method: the factor is the median hemibrain / FAFB-DA1 ratio of ``extent_pc1``)."""
    labels = pd.read_csv(os.path.join(FAFB, "bates2020_mmc4_labels.csv"))
    labels.index = labels["skeleton_id"].astype(str)
    lab = labels.reindex(X.index)
    da1 = X[(lab["trivial_name"] == "lPN") & (lab["top_glomerulus"] == "DA1")]
    cols = [c for c in X.columns if c in F.columns and X[c].notna().any()]
    sd = X[cols].std().replace(0, np.nan)
    z = ((F[cols].median() - da1[cols].median()) / sd).dropna()
    top = z.reindex(z.abs().sort_values(ascending=False).index)[:12]
    out = [f"    same type, hemibrain vs the {len(da1)} FAFB DA1 lPNs (median difference / FAFB sd), largest: "
           + ", ".join(f"{c} {v:+.1f}" for c, v in top.items())]
    ratio = F[list(SIZE_COLUMNS)].median() / da1[list(SIZE_COLUMNS)].median()
    out.append("    hemibrain / FAFB DA1 median ratio: " + ", ".join(f"{c} {v:.2f}" for c, v in ratio.items()))
    f = float(ratio["extent_pc1"])
    G = ng.neuron_features([perturb.scale(n, 1 / f) for n in neurons], groups=DEFAULT_GROUPS)
    G.index = ids
    pred = classify.predict(model, G)
    place = ["arbor1_distance", "angle_soma_arbor1_arbor2", "arbor12_distance"]
    adpn = X[lab["trivial_name"] == "adPN"]
    out.append("    soma placement (median [min-max]): " + "; ".join(
        f"{c}: hemibrain {F[c].median():.0f} [{F[c].min():.0f}-{F[c].max():.0f}], FAFB DA1 lPN {da1[c].median():.0f} "
        f"[{da1[c].min():.0f}-{da1[c].max():.0f}], FAFB adPN {adpn[c].median():.0f}" for c in place))
    y = lab["trivial_name"].reindex(X.index)
    y = y[y.isin(["vPN", "adPN", "lvPN", "lPN", "l2PN"])]
    keep = [c for c in cols if not SOMA_PLACE.search(c)]
    m2 = classify.train(X.loc[y.index, keep], y)
    p2 = classify.predict(m2, F[keep])
    cv = cv_transfer({"clean": X[keep]}, y)["clean"][1]
    out.append(f"    without the {len(cols) - len(keep)} soma-position columns (diagnosis): FAFB lineage CV {cv:.3f}, "
               f"DA1 from skeletons {int((p2['predicted'] == 'lPN').sum())}/5 lPN ["
               + ", ".join(f"{p} ({q:.2f})" for p, q in zip(p2["predicted"], p2["probability"])) + "]")
    out.append(f"    hemibrain skeletons shrunk by 1/{f:.2f} (diagnosis only): {int((pred['predicted'] == 'lPN').sum())}/5 "
               "lPN [" + ", ".join(f"{p} ({q:.2f})" for p, q in zip(pred["predicted"], pred["probability"])) + "]")
    return out


def main() -> int:
    if not os.path.isdir(FAFB):
        print(f"no data at {FAFB}", file=sys.stderr)
        return 1
    args = sys.argv[1:]
    limit = int(args[args.index("--limit") + 1]) if "--limit" in args else None
    workers = int(args[args.index("--workers") + 1]) if "--workers" in args else 2
    every = int(args[args.index("--every") + 1]) if "--every" in args else 4
    seeds = tuple(range(int(args[args.index("--seeds") + 1]))) if "--seeds" in args else SEEDS
    os.makedirs(OUT, exist_ok=True)
    out_name = "transfer.txt" if limit is None else f"transfer_limit{limit}.txt"
    sys.stdout = _Tee(sys.__stdout__, open(os.path.join(OUT, out_name), "w", encoding="utf-8"))
    t_start = time.perf_counter()
    files = sorted(glob.glob(os.path.join(FAFB, "swc", "*.swc")))
    if limit:
        files = files[::max(1, len(files) // limit)][:limit]
    print(f"== FAFB olfactory PNs: {len(files)} skeletons; perturbations (seeded per neuron): "
          + ", ".join(f"({LETTER[k]}) {k}" for k in perturb.KINDS))
    print(f"perturbed: every {every}th neuron ({len(files[::every])}), each once per kind; all {len(files)} clean")
    tables, info = load_tables(files, workers, "--recompute" in args, every)
    print("\nwhat the perturbations did (median over neurons [min-max]):")
    for kind in perturb.KINDS:
        d = info[info["kind"] == kind]
        bp = d["branch_points"] / d["branch_points_clean"]
        nodes = d["nodes"] / d["nodes_clean"]
        text = (f"  ({LETTER[kind]}) {kind:13s} branch points x{bp.median():.2f} [{bp.min():.2f}-{bp.max():.2f}], "
                f"nodes x{nodes.median():.2f} [{nodes.min():.2f}-{nodes.max():.2f}], "
                f"pieces {d['pieces'].median():.0f} [{d['pieces'].min():.0f}-{d['pieces'].max():.0f}]")
        if "pieces_healed" in d and d["pieces_healed"].notna().any():
            text += (f"; after heal: {int((d['pieces_healed'] == 1).sum())}/{len(d)} one tree, "
                     f"largest join {d['gap_um_max'].max():.2f} µm")
        print(text)

    names = tables["clean", "canonical"].index
    y_tasks = tasks(names)
    summary = {}
    for form in FORMS:
        cols = usable(tables["clean", form])
        print(f"\n== form '{form}': {len(cols)} default feature columns with data")
        print("per-feature Spearman correlation over neurons, clean vs perturbed (target: >= 0.9 for >= 90% of columns)")
        rho = pd.DataFrame({k: spearman_table(tables["clean", form], tables[k, form], cols) for k in perturb.KINDS})
        rho.to_csv(os.path.join(OUT, f"transfer_spearman_{form}.csv"))
        for kind in perturb.KINDS:
            r = rho[kind].dropna()
            frac = float((r >= 0.9).mean())
            fails = r[~(r >= 0.9)].sort_values()
            summary[form, kind, "rho"] = frac
            print(f"  ({LETTER[kind]}) {kind:13s} {frac:6.1%} of {len(r)} columns >= 0.9 (median rho {r.median():.3f}); "
                  f"{len(fails)} below: " + ", ".join(f"{c} {v:.2f}" for c, v in fails.items()))
        print(f"  (columns without 10 varying clean values, left out: "
              f"{', '.join(rho.index[rho.isna().all(axis=1)]) or 'none'})")
        print("balanced accuracy, 5-fold CV (seed 0): each fold's model, trained on the clean training folds, predicts "
              "the held-out neurons clean and perturbed;\n  for each perturbation: clean -> perturbed on the same "
              "held-out neurons (drop; target <= 0.03)")
        X = {k: tables[k, form][cols] for k in KINDS}
        for task, y in y_tasks.items():
            s = cv_transfer(X, y)
            summary[form, task] = s
            print(f"  {task:12s} all {len(y)} clean {s['clean'][1]:.3f} (target >= {TARGETS[task]}) | " + " | ".join(
                f"({LETTER[k]}) {s[k][0]:.3f}->{s[k][1]:.3f} ({s[k][1] - s[k][0]:+.3f})" for k in perturb.KINDS))
            runs = [s] + [cv_transfer(X, y, seed) for seed in seeds[1:]]  # ~17 held-out neurons a fold: noisy
            mean = {k: (np.mean([r[k][0] for r in runs]), np.mean([r[k][1] for r in runs])) for k in s}
            summary[form, task, "mean"] = mean
            summary[form, task, "worst"] = {k: min(r[k][1] - r[k][0] for r in runs) for k in s}
            print(f"  {'':12s} mean of seeds {seeds}: clean {mean['clean'][1]:.3f} | " + " | ".join(
                f"({LETTER[k]}) {mean[k][1] - mean[k][0]:+.3f}" for k in perturb.KINDS))
            if len(seeds) > 3:
                print(f"  {'':12s} worst single seed: " + " | ".join(
                    f"({LETTER[k]}) {summary[form, task, 'worst'][k]:+.3f}" for k in perturb.KINDS))
        if limit is None:
            print("hemibrain DA1 (5 lateral-lineage uniglomerular cholinergic PNs), each model trained on all FAFB:")
            for task in DA1_TRUTH:
                for line in hemibrain(X["clean"], y_tasks[task], form, task):
                    print(line)

    print("\n== targets (canonical form, the default)")
    for kind in perturb.KINDS:
        worst = max(summary["canonical", t][kind][0] - summary["canonical", t][kind][1] for t in y_tasks)
        worst_mean = max(summary["canonical", t, "mean"][kind][0] - summary["canonical", t, "mean"][kind][1]
                         for t in y_tasks)
        frac = summary["canonical", kind, "rho"]
        # <= 0.03 up to float rounding: balanced accuracies are ratios of small integers (class sizes
        # ~10-200), so a difference within 1e-9 of 0.03 is 0.03 (one neuron: 0.9176 -> 0.8876 gives
        # 0.0300000000000001 in floats)
        worst_any = -min(summary["canonical", t, "worst"][kind] for t in y_tasks)
        print(f"  ({LETTER[kind]}) {kind:13s} largest accuracy drop {worst:+.3f} "
              f"{'MET' if worst <= 0.03 + 1e-9 else 'NOT MET'} (mean of {len(seeds)} seeds {worst_mean:+.3f} "
              f"{'MET' if worst_mean <= 0.03 + 1e-9 else 'NOT MET'}; worst single seed {worst_any:+.3f}); "
              f"Spearman >= 0.9 for {frac:.1%} {'MET' if frac >= 0.9 else 'NOT MET'}")
    for task, target in TARGETS.items():
        v = summary["canonical", task]["clean"][1]
        print(f"  FAFB {task:12s} {v:.3f} (target >= {target}) {'MET' if v >= target else 'NOT MET'}; mean of {len(seeds)} seeds "
              f"{summary['canonical', task, 'mean']['clean'][1]:.3f}")
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
