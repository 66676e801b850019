"""Geometry-only compartments on cortical neurons: the Allen Cell Types reconstructions (issue #17).

The 211 full reconstructions (with axon) of ``../shared/data/allen_celltypes_509`` (mouse
visual cortex, light microscopy, µm; Gouwens et al. 2019) are loaded with their SWC types
stripped (every non-soma node type 0), labelled by :func:`neurograph.label_compartments`
without synapses, and scored over cable against the reconstructors' types (2 axon, 3 basal,
4 apical):

- ``axon vs dendrite``: fraction of cable (soma excluded) whose axon/dendrite label is right;
- ``apical vs basal``: on the true dendrite of spiny cells, fraction of cable whose apical /
  not-apical label is right (a ``dendrite`` label counts as not apical).

Each cell's score is its own fraction; the tables give the mean over cells. The rule was
developed on the cells with **even specimen ids**; the odd ones are held out and reported
separately. Everything is also scored with the radii dropped (radius-less, as CAVE / pcg_skel
skeletons). Per class: ``axon`` recall (fraction of the true axon labelled axon) and
``dendrite`` recall.

Run: ``python benchmarks/cortex_compartments.py`` -> ``benchmarks/results/cortex_compartments.txt``
and ``benchmarks/results/cortex_compartments_*.png`` (confusion matrices, cable-weighted, pooled).
"""

from __future__ import annotations

import os
import sys
import time
import warnings

import numpy as np
import pandas as pd

import neurograph as ng
from neurograph.graph.neuron import decompose
from neurograph.graph.swc import swc_skeleton
from neurograph.io.swc import read_swc

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "..", "..", "shared", "data", "allen_celltypes_509")


def load_stripped(folder: str, specimen_id: int, radii: bool = True):
    """(Neuron with SWC types stripped, true SWC type per skeleton node) of one Allen cell (µm file)."""
    table = read_swc(os.path.join(folder, "swc", f"{specimen_id}.swc"), units="um")
    if not radii:
        table.loc[table["type"] != 1, "radius"] = np.nan
    sk, somas = swc_skeleton(table, name=str(specimen_id))
    truth = sk.node_type.copy()
    sk.node_type[truth != 1] = 0
    return decompose(sk, somas, None, name=str(specimen_id)), truth


def cell_scores(neuron, truth: np.ndarray) -> dict:
    """Cable fractions of one labelled neuron against its true SWC types (see module docstring)."""
    sk = neuron.skeleton
    has = np.flatnonzero(sk.parent >= 0)
    length = np.linalg.norm(sk.vertices[has] - sk.vertices[sk.parent[has]], axis=1)
    t, o = truth[has], sk.node_type[has]
    ok = np.isin(t, [2, 3, 4]) & (o != 1)
    ta, oa = t[ok] == 2, o[ok] == 2
    w = length[ok]
    out = {"axon_dendrite": float((w * (ta == oa)).sum() / w.sum()),
           "axon_recall": float((w * (ta & oa)).sum() / (w * ta).sum()) if ta.any() else np.nan,
           "dendrite_recall": float((w * (~ta & ~oa)).sum() / (w * ~ta).sum()) if (~ta).any() else np.nan}
    dend = ok & np.isin(t, [3, 4]) & (o != 2)
    if (t[dend] == 4).any():
        wd, tp, op = length[dend], t[dend] == 4, o[dend] == 4
        out.update(apical_basal=float((wd * (tp == op)).sum() / wd.sum()),
                   apical_recall=float((wd * (tp & op)).sum() / (wd * tp).sum()),
                   basal_recall=float((wd * (~tp & ~op)).sum() / (wd * ~tp).sum()) if (~tp).any() else np.nan)
    # pooled confusion (µm of cable): rows truth axon/basal/apical, columns ours axon/dendrite/apical
    conf = np.zeros((3, 3))
    ti = np.select([t[ok] == 2, t[ok] == 3], [0, 1], 2)
    oi = np.select([o[ok] == 2, o[ok] == 4], [0, 2], 1)
    np.add.at(conf, (ti, oi), w / 1e3)
    out["confusion"] = conf
    return out


def score_cells(folder: str, ids, radii: bool = True, **label_kwargs) -> pd.DataFrame:
    """One row per cell: :func:`cell_scores` after geometry-only :func:`neurograph.label_compartments`."""
    rows = []
    for sid in ids:
        neuron, truth = load_stripped(folder, int(sid), radii)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            neuron = ng.label_compartments(neuron, use_synapses=False, **label_kwargs)
            table = ng.compartment_table(neuron)
        methods = "/".join(sorted(set(table["compartment_method"]) - {"soma"}))
        rows.append({"specimen_id": int(sid), "radii": radii, "method": methods, **cell_scores(neuron, truth)})
    return pd.DataFrame(rows)


def compartment_rows(folder: str = FOLDER, radii: bool = True, ids=None, cache: str | None = None) -> list[dict]:
    """Geometry-only compartment scores on the Allen full reconstructions, as table rows.

    Parameters
    ----------
    folder : str
        The ``allen_celltypes_509`` folder.
    radii : bool, default True
        Keep the SWC radii (False: drop them, radius-less skeletons).
    ids : iterable of int, optional
        Specimen ids (default: all full reconstructions).
    cache : str, optional
        Pickle file of the per-cell scores: read when it exists and holds the cells, else written
        (delete it to re-score; scoring takes ~10 min on 2 cores).

    Returns
    -------
    list of dict
        Two rows, ``task`` ``"geometry-only axon vs dendrite (cable), full reconstructions"``
        and ``"apical vs basal (cable), spiny full reconstructions"``, each with ``score``
        (mean over cells), ``n`` (cells), per-class recall (``axon``/``dendrite``,
        ``apical``/``basal``), per dendrite type (``aspiny``, ``spiny``, ``sparsely spiny``)
        and development / held-out halves (``even ids`` / ``odd ids``).
    """
    labels = pd.read_csv(os.path.join(folder, "labels.csv")).set_index("specimen_id")
    full = labels[labels["reconstruction_type"] == "full"]
    ids = full.index if ids is None else list(ids)
    if cache is not None and os.path.exists(cache) and set(ids) <= set(pd.read_pickle(cache)["specimen_id"]):
        df = pd.read_pickle(cache)
        df = df[df["specimen_id"].isin(ids)]
    else:
        df = score_cells(folder, ids, radii)
        if cache is not None:
            df.to_pickle(cache)  # a cell's confusion matrix is a 2-D array: not parquet
    df = df.set_index("specimen_id")
    df["dendrite_type"] = labels.loc[df.index, "dendrite_type"]
    return _rows(df)


def _rows(df: pd.DataFrame) -> list[dict]:
    spiny = df[(df["dendrite_type"] == "spiny") & df["apical_basal"].notna()] if "apical_basal" in df else df.iloc[:0]
    out = []
    for task, sub, col, classes in (
            ("geometry-only axon vs dendrite (cable), full reconstructions", df, "axon_dendrite",
             {"axon": "axon_recall", "dendrite": "dendrite_recall"}),
            ("apical vs basal (cable), spiny full reconstructions", spiny, "apical_basal",
             {"apical": "apical_recall", "basal": "basal_recall"})):
        row = {"task": task, "score": float(sub[col].mean()) if len(sub) else np.nan, "n": len(sub)}
        row.update({k: float(sub[v].mean()) for k, v in classes.items()})
        for kind, part in sub.groupby("dendrite_type"):
            row[kind] = float(part[col].mean())
        row["even ids"] = float(sub.loc[sub.index % 2 == 0, col].mean())
        row["odd ids"] = float(sub.loc[sub.index % 2 == 1, col].mean())
        out.append(row)
    return out


def _plot(conf: np.ndarray, title: str, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frac = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1e-12)
    fig, ax = plt.subplots(figsize=(4.2, 3.6))
    ax.imshow(frac, cmap="Blues", vmin=0, vmax=1)
    names_t, names_o = ["axon", "basal", "apical"], ["axon", "dendrite/basal", "apical"]
    for i in range(3):
        for j in range(3):
            ax.text(j, i, f"{frac[i, j]:.2f}\n{conf[i, j] / 1e3:.1f} mm", ha="center", va="center", fontsize=7,
                    color="white" if frac[i, j] > 0.6 else "black")
    ax.set_xticks(range(3), names_o)
    ax.set_yticks(range(3), names_t)
    ax.set_xlabel("neurograph (geometry only)")
    ax.set_ylabel("reconstructors' SWC type")
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> None:
    if not os.path.isdir(FOLDER):
        print("allen_celltypes_509 not found; nothing to do")
        return
    out_dir = os.path.join(HERE, "results")
    labels = pd.read_csv(os.path.join(FOLDER, "labels.csv")).set_index("specimen_id")
    full = labels[labels["reconstruction_type"] == "full"].index
    dendrite_only = labels[labels["reconstruction_type"] == "dendrite-only"].index
    lines = [f"neurograph geometry-only compartments, Allen Cell Types full reconstructions ({len(full)} cells); "
             "SWC types stripped before labelling; mean over cells of cable fractions",
             "rule developed on even specimen ids; odd ids held out", ""]
    for radii in (True, False):
        t0 = time.perf_counter()
        df = score_cells(FOLDER, full, radii).set_index("specimen_id")
        df["dendrite_type"] = labels.loc[df.index, "dendrite_type"]
        elapsed = time.perf_counter() - t0
        tag = "with radii" if radii else "radii dropped"
        lines.append(f"== {tag} ({elapsed:.0f} s for {len(df)} cells, loading included) ==")
        rows = pd.DataFrame(_rows(df)).set_index("task")
        with pd.option_context("display.width", 250, "display.float_format", "{:.3f}".format):
            lines.append(rows.to_string())
        half = df.assign(half=np.where(df.index % 2 == 0, "even (dev)", "odd (held out)"))
        cols = ["axon_dendrite", "axon_recall", "dendrite_recall", "apical_basal"]
        with pd.option_context("display.width", 250, "display.float_format", "{:.3f}".format):
            lines.append(half.groupby(["half", "dendrite_type"])[cols].agg("mean").assign(
                n=half.groupby(["half", "dendrite_type"]).size()).to_string())
            lines.append("methods: " + ", ".join(f"{k} {v}" for k, v in df["method"].value_counts().items()))
            worst = df.nsmallest(5, "axon_dendrite")[["dendrite_type", "axon_dendrite", "axon_recall",
                                                      "dendrite_recall", "method"]]
            lines.append("worst 5 cells (axon vs dendrite):\n" + worst.to_string())
        conf = np.sum(np.stack(df["confusion"].to_list()), axis=0)
        png = os.path.join(out_dir, f"cortex_compartments_{'radii' if radii else 'no_radii'}.png")
        _plot(conf, f"Allen full reconstructions, {tag}: share of true cable", png)
        lines.append(f"confusion matrix (pooled cable): {os.path.relpath(png, HERE)}")
        lines.append("")
    # dendrite-only reconstructions: any axon found is false
    d = score_cells(FOLDER, dendrite_only, True).set_index("specimen_id")
    lines.append(f"== dendrite-only reconstructions ({len(d)} cells, with radii): no axon in truth ==")
    lines.append(f"mean fraction of dendrite cable labelled axon: {1 - d['dendrite_recall'].mean():.3f}; "
                 f"cells with any axon label: {(d['dendrite_recall'] < 1).sum()}")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(out_dir, "cortex_compartments.txt"), "w") as fh:
        fh.write(text + "\n")


if __name__ == "__main__":
    sys.exit(main())
