"""Command line: ``neurograph features``, ``neurograph train`` and ``neurograph predict``.

::

    neurograph features cells/*.swc --units nm -o features.parquet
    neurograph train features.parquet --label cell_type -o model/
    neurograph predict model/ new_features.parquet -o predictions.csv
"""

from __future__ import annotations

import argparse
import glob
import os
import sys
import time
from collections import Counter

from .errors import InputError
from .io.paths import check_output_file, check_output_folder, read_text_table


#: suffixes of the tables the commands read and write
TABLE_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt")


def read_table(path: str):
    """A feature table from ``.parquet`` or ``.csv`` (first column = index).

    Parameters
    ----------
    path : str
        ``.parquet``/``.pq``, or ``.csv``/``.txt`` (comma) or ``.tsv`` (tab) file.

    Returns
    -------
    pandas.DataFrame
        The table, indexed by its first column for text files.

    Raises
    ------
    InputError
        When the file does not exist, has another suffix or cannot be parsed (damaged
        Parquet, a text file that is not UTF-8 or Latin-1, no columns).
    """
    import pandas as pd

    if os.path.isdir(path):
        return _batch_features(path)
    if not os.path.isfile(path):
        raise InputError(f"feature table not found: {path}")
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in TABLE_SUFFIXES:
        raise InputError(f"{path}: use a .parquet or .csv feature table (or a `neurograph batch` output folder)")
    try:
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
        sep = "\t" if suffix == ".tsv" else ","
        return read_text_table(path, index_col=0, sep=sep)
    except InputError:
        raise
    except Exception as exc:  # pyarrow (ArrowInvalid, OSError) and pandas parser errors
        raise InputError(f"{path} could not be read as a {suffix} table ({type(exc).__name__}: {exc}); "
                         "the file is damaged or in another format: write it again (e.g. with "
                         "`neurograph features` or DataFrame.to_parquet)") from exc


def _batch_features(path: str):
    """The feature table of a ``neurograph batch`` output folder (``neurons`` indexed by id)."""
    from .batch.store import read_results

    try:
        results = read_results(path, tables=("neurons",))
    except InputError as exc:
        raise InputError(f"{path} is a folder but not a `neurograph batch` output folder: give a feature "
                         f"table file (.parquet or .csv) or a batch output folder ({exc})") from None
    table = results.features()
    if len(table) == 0:
        raise InputError(f"{path}: the batch output folder has no extracted neurons yet")
    return table


def write_table(table, path: str) -> None:
    """Write a table as Parquet (``.parquet``/``.pq``), tab-separated (``.tsv``) or, for any other
    suffix, CSV.

    Parameters
    ----------
    table : pandas.DataFrame
        Table to write (the index is written too).
    path : str
        Output file; missing parent folders are created.

    Returns
    -------
    None
    """
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if path.lower().endswith((".parquet", ".pq")):
        table.to_parquet(path)
    else:
        table.to_csv(path, sep="\t" if path.lower().endswith(".tsv") else ",")


def _inputs(paths: list[str]) -> list[str]:
    out: list[str] = []
    for p in paths:
        if os.path.isdir(p):
            out += sorted(glob.glob(os.path.join(p, "*.swc")) + glob.glob(os.path.join(p, "*.neuron.zip")))
        else:
            out.append(p)
    if not out:
        raise InputError("no input neurons: give .swc or .neuron.zip files, or folders holding them")
    return out


def _check_table_output(path: str) -> None:
    """The output table's suffix (Parquet or CSV) and place, before any work is done."""
    if not path.lower().endswith(TABLE_SUFFIXES):
        raise InputError(f"{path}: write the table as .parquet or .csv (also .pq, .tsv, .txt)")
    check_output_file(path)


def _features(args: argparse.Namespace) -> int:
    from .errors import NeurographError
    from .features.registry import DEFAULT_GROUPS
    from .features.vector import neuron_features
    from .graph import load, load_swc

    from .io.paths import voxel_arg

    _check_table_output(args.output)
    voxel = voxel_arg(args.voxel_size, "--voxel-size")
    paths = list(dict.fromkeys(os.path.abspath(p) for p in _inputs(args.inputs)))  # a file given twice: once
    names = Counter(_stem(p) for p in paths)
    twice = sorted(n for n, k in names.items() if k > 1)
    if twice:
        raise InputError(f"{len(twice)} name(s) belong to several input files ({', '.join(twice[:4])}): the table's "
                         "rows are indexed by name; rename the files or run the folders separately")
    if args.units is None and any(not p.endswith(".neuron.zip") for p in paths):
        raise InputError("SWC input needs --units (nm, um or voxel with --voxel-size): SWC files do not "
                         "record their units")
    rows, times, failed = [], [], 0
    for path in paths:
        t0 = time.perf_counter()
        try:
            neuron = load(path) if path.endswith(".neuron.zip") else load_swc(path, units=args.units, voxel_size=voxel)
            rows.append(neuron_features(neuron, groups=DEFAULT_GROUPS + ("position",) if args.position
                                        else DEFAULT_GROUPS))
        except NeurographError as exc:  # one bad file must not lose the others' rows
            failed += 1
            print(f"neurograph: skipped: {exc}", file=sys.stderr, flush=True)
            continue
        times.append(time.perf_counter() - t0)
        if not args.quiet:
            print(f"{neuron.name}: {times[-1]:.2f} s", flush=True)
    if not rows:
        raise InputError(f"none of the {len(paths)} input neurons could be read (see the messages above)")
    import pandas as pd

    table = pd.concat(rows)
    if table.index.duplicated().any():  # saved neurons keep the name they were saved with
        dup = sorted(set(table.index[table.index.duplicated()]))
        raise InputError(f"{len(dup)} neuron name(s) occur twice ({', '.join(map(str, dup[:4]))}): the table's rows "
                         "are indexed by name; nothing written")
    write_table(table, args.output)
    print(f"wrote {args.output}: {len(table)} neurons x {table.shape[1]} features "
          f"({sum(times):.1f} s, {sum(times) / len(times):.2f} s per neuron)"
          + (f"; {failed} input(s) skipped (errors above)" if failed else ""))
    return 3 if failed else 0


def _stem(path: str) -> str:
    """A file's stem (``cell`` for ``a/cell.swc`` and ``b/cell.neuron.zip``)."""
    name = os.path.basename(path)
    return name[:-len(".neuron.zip")] if name.endswith(".neuron.zip") else os.path.splitext(name)[0]


def _train(args: argparse.Namespace) -> int:
    from .classify import DEFAULT_MODEL, cross_validate, label_strings, save_model, train

    args.model = args.model or DEFAULT_MODEL
    if args.cv is not None and (args.cv < 0 or args.cv == 1):
        raise InputError(f"--cv must be 0 (no cross-validation) or at least 2 folds, got {args.cv}")
    check_output_folder(args.output)
    table = read_table(args.features)
    if args.label not in table.columns:
        raise InputError(f"label column {args.label!r} is not in {args.features} "
                         f"(columns: {', '.join(map(str, table.columns[:10]))}, ...)")
    drop = [c for c in (args.drop or []) if c in table.columns]
    table = table.drop(columns=drop)
    if args.coarse is not None and args.coarse not in table.columns:
        raise InputError(f"coarse class column {args.coarse!r} is not in {args.features} "
                         f"(columns: {', '.join(map(str, table.columns[:10]))}, ...)")
    stages = {} if args.coarse is None else {"coarse": args.coarse, "routing": args.routing}
    labelled = table[table[args.label].notna()]
    if args.coarse is not None:
        labelled = labelled[labelled[args.coarse].notna()]
    if len(labelled) < len(table):
        print(f"{len(table) - len(labelled)} rows without a label{'' if args.coarse is None else ' or coarse class'}"
              " left out")
    extra = dict(stages)
    if args.cv:
        res = cross_validate(labelled, args.label, model=args.model, n_splits=args.cv,
                             min_class_size=args.min_class_size, **stages)
        print(f"{args.cv}-fold cross-validation: balanced accuracy {res.balanced_accuracy:.3f} ± "
              f"{res.balanced_accuracy_sd:.3f}, macro F1 {res.macro_f1:.3f}")
        print(res.confusion.to_string())
        extra.update(cv_balanced_accuracy=res.balanced_accuracy, cv_macro_f1=res.macro_f1, cv_folds=args.cv,
                     dropped_classes=res.dropped_classes)
        if res.dropped_classes:
            keep = ~label_strings(labelled[args.label]).isin(res.dropped_classes)
            labelled = labelled[keep]
    elif args.min_class_size:
        counts = label_strings(labelled[args.label]).value_counts()
        small = counts[counts < args.min_class_size]
        if len(small):
            print(f"left out {len(small)} class(es) with fewer than {args.min_class_size} neurons: "
                  + ", ".join(f"{k} ({v})" for k, v in small.items()))
            labelled = labelled[~label_strings(labelled[args.label]).isin(small.index)]
        extra["dropped_classes"] = {str(k): int(v) for k, v in small.items()}
    model = train(labelled, args.label, model=args.model, **stages)
    save_model(model, args.output, label=args.label, extra=extra)
    print(f"trained {args.model} on {len(labelled)} neurons, {len(model.feature_names_in_)} features, "
          f"classes {[str(c) for c in model.classes_]}; saved to {args.output}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    from .classify import load_model, predict

    _check_table_output(args.output)
    model = load_model(args.model, trust_pickle=args.trust_pickle)
    table = read_table(args.features)
    out = predict(model, table)
    write_table(out, args.output)
    counts = out["predicted"].value_counts()
    print(f"wrote {args.output}: {len(out)} neurons; " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def add_classify_parsers(sub) -> None:
    """Add ``features``, ``train`` and ``predict`` to the ``neurograph`` subcommands.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``neurograph`` parser (from ``add_subparsers``).

    Returns
    -------
    None
    """
    fe = sub.add_parser("features", help="SWC / saved neurons -> one feature row per neuron (parquet or csv); an "
                        "unreadable input is skipped with its error (exit code 3), the others are written")
    fe.add_argument("inputs", nargs="+", help=".swc or .neuron.zip files, or folders of them")
    fe.add_argument("-o", "--output", required=True, help="output table (.parquet or .csv)")
    fe.add_argument("--units", choices=["nm", "um", "µm", "voxel"], help="units of the SWC files (required for SWC)")
    fe.add_argument("--voxel-size", nargs="+", type=float, help="nm per voxel with --units voxel")
    fe.add_argument("--position", action="store_true", help="add brain-space position features (off by default)")
    fe.add_argument("-q", "--quiet", action="store_true")
    fe.set_defaults(func=_features)

    tr = sub.add_parser("train", help="train a cell-type classifier on a feature table")
    tr.add_argument("features", help="feature table (.parquet or .csv) or `neurograph batch` output folder "
                    "holding the label column")
    tr.add_argument("--label", required=True, help="column with the class of each neuron")
    tr.add_argument("-o", "--output", required=True, help="output folder for the model")
    tr.add_argument("--model", default=None, help="extra_trees (default), random_forest, "
                    "hist_gradient_boosting or logistic")
    tr.add_argument("--drop", nargs="*", help="columns not to use as features (other labels, ids)")
    tr.add_argument("--cv", type=int, default=5, help="cross-validation folds to report first (0: none)")
    tr.add_argument("--min-class-size", type=int, default=None,
                    help="leave out classes with fewer neurons, with or without --cv (default: keep all; CV needs "
                    ">= --cv each)")
    tr.add_argument("--coarse", default=None,
                    help="column with a coarse class (e.g. spiny / aspiny): train a two-stage model, coarse class "
                    "first, then --label with a model per coarse class (off by default)")
    tr.add_argument("--routing", choices=["hard", "soft"], default="hard",
                    help="with --coarse: follow the predicted coarse class (hard) or weigh every stage by its "
                    "probability (soft)")
    tr.set_defaults(func=_train)

    pr = sub.add_parser("predict", help="predict classes and probabilities with a trained model")
    pr.add_argument("model", help="model folder from `neurograph train`")
    pr.add_argument("features", help="feature table (.parquet or .csv) or a `neurograph batch` output folder")
    pr.add_argument("-o", "--output", required=True, help="predictions table (.csv or .parquet)")
    pr.add_argument("--trust-pickle", action="store_true",
                    help="load an old model.joblib pickle (runs any code it carries: only for files you made)")
    pr.set_defaults(func=_predict)
