"""The batch output folder: one file per neuron per table, written atomically.

Layout of ``OUTDIR``::

    run.json                         extraction options of the run (checked on resume)
    neurons/part-<id>.parquet        one row per neuron: id, label, path, neurograph.neuron_features,
                                     the Neuron.summary columns not among those features
    branches/part-<id>.parquet       one row per branch
    spines/part-<id>.parquet         when the Neuron has a ``spines`` table
    synapses/part-<id>.parquet       when the Neuron has a ``synapses`` table
    errors/part-<id>.parquet         one row per failed neuron: id, stage, exception type, message
    neuron_files/<id>.neuron.zip     the saved Neuron (:func:`neurograph.load`)
    qc/<id>.png                      a QC picture: mesh (or skeleton) by compartment or branch,
                                     somata, spines, synapses, dendrogram (:func:`neurograph.plot.qc_figure`)
    done/<id>.json                   written last: the neuron is finished (timings, row counts)

Every file is written to a hidden temporary name in the same folder, flushed to disk and
renamed (``os.replace``), so a reader or a crash never sees half a file. A neuron counts as
extracted only once its ``done`` marker exists; table parts of a neuron without one (a run
killed mid-neuron) are ignored by :func:`read_results` and rewritten on resume. Each table
folder is a Parquet dataset that pyarrow, pandas, polars, DuckDB or Spark read as one table.
"""

from __future__ import annotations

import json
import os
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import FormatError, InputError
from ..io.paths import atomic_write_bytes, is_temporary

TABLES = ("neurons", "branches", "spines", "synapses")
ERRORS = "errors"
NEURON_FILES = "neuron_files"
QC = "qc"
DONE = "done"
RUN_FILE = "run.json"
ERROR_COLUMNS = ["neuron", "path", "stage", "exception", "message"]


#: file name of each kind of per-neuron output, in the folder of the same name
_FILES = {**{t: "part-{}.parquet" for t in TABLES + (ERRORS,)}, NEURON_FILES: "{}.neuron.zip",
          QC: "{}.png", DONE: "{}.json"}


def output_path(out_dir: str, kind: str, neuron_id: str) -> str:
    """Path of one neuron's output of one kind in a batch output folder.

    Parameters
    ----------
    out_dir : str
        Batch output folder.
    kind : str
        A table (``neurons, branches, spines, synapses, errors``: ``<kind>/part-<id>.parquet``),
        ``neuron_files`` (``<id>.neuron.zip``, the saved Neuron), ``qc`` (``<id>.png``) or
        ``done`` (``<id>.json``).
    neuron_id : str
        Neuron id.

    Returns
    -------
    str
        The path (not checked to exist).
    """
    return os.path.join(out_dir, kind, _FILES[kind].format(neuron_id))


def make_layout(out_dir: str) -> None:
    """Create ``out_dir`` and its subfolders (tables, errors, neuron_files, qc, done) if missing.

    Parameters
    ----------
    out_dir : str
        Batch output folder.
    """
    for sub in TABLES + (ERRORS, NEURON_FILES, QC, DONE):
        os.makedirs(os.path.join(out_dir, sub), exist_ok=True)


def _arrow_table(table: pd.DataFrame) -> pa.Table:
    """Plain columns with stable types: int64 (nullable), float64, bool, string.

    A column with no values (an empty table, a label nobody set) is typed null, which
    :func:`read_results` merges with whatever type the other neurons' parts have. No pandas
    metadata: types come from Arrow alone, the same for every part. Each column is converted
    as ``pa.Table.from_pandas`` converts it, the float columns from one array (a neurons row has
    ~500 of them: column by column through pandas took ~0.2 s per neuron).
    """
    names = [str(c) for c in table.columns]
    if len(set(names)) < len(names):
        raise ValueError(f"a batch table needs distinct column names, got {names}")
    arrays = []
    floats = [j for j, d in enumerate(table.dtypes) if pd.api.types.is_float_dtype(d)]
    block = dict(zip(floats, table.iloc[:, floats].to_numpy(np.float64, na_value=np.nan).T)) if floats else {}
    for j in range(table.shape[1]):
        if j in block:
            array = pa.array(block[j], from_pandas=True)  # NaN as null, as from_pandas does
        else:
            s = table.iloc[:, j]
            if pd.api.types.is_bool_dtype(s):
                s = s.astype(bool)
            elif pd.api.types.is_integer_dtype(s):  # int64 with nulls: float64 would round 18-digit ids
                s = s.astype("Int64" if s.isna().any() else "int64")
            else:
                s = s.map(lambda v: None if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v))
            array = pa.nulls(len(s)) if s.dtype == object and s.isna().all() else pa.Array.from_pandas(s)
        arrays.append(array)
    return pa.Table.from_arrays(arrays, names=names)


def write_table(out_dir: str, table_name: str, neuron_id: str, table: pd.DataFrame) -> None:
    """Write one neuron's part of ``table_name`` atomically (Parquet, zstd).

    Columns are stored as int64 (nullable), float64, bool or string (other values as their text).

    Parameters
    ----------
    out_dir : str
        Batch output folder (made by :func:`make_layout`).
    table_name : str
        Table folder name, e.g. ``neurons`` or ``errors``.
    neuron_id : str
        Neuron id; the file is :func:`output_path`.
    table : pandas.DataFrame
        The rows to write; the index is dropped.
    """
    sink = pa.BufferOutputStream()
    pq.write_table(_arrow_table(table), sink, compression="zstd")
    atomic_write_bytes(output_path(out_dir, table_name, neuron_id), sink.getvalue().to_pybytes())


def remove(path: str) -> None:
    """Delete a file; a file that does not exist is not an error.

    Parameters
    ----------
    path : str
        File to delete.
    """
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def write_error(out_dir: str, neuron_id: str, path: str, stage: str, exception: str, message: str) -> None:
    """Record that ``neuron_id`` failed (one row in ``errors``); overwrites an older record.

    Parameters
    ----------
    out_dir : str
        Batch output folder.
    neuron_id : str
        Neuron id.
    path : str
        Input file of the neuron.
    stage : str
        Stage that failed (``load``, ``skeletonize``, ``write``, ``worker``, ...).
    exception : str
        Exception type name (or ``TimeLimitExceeded``, ``WorkerDied``).
    message : str
        What went wrong.
    """
    row = pd.DataFrame([[neuron_id, path, stage, exception, message]], columns=ERROR_COLUMNS)
    write_table(out_dir, ERRORS, neuron_id, row)


def write_done(out_dir: str, neuron_id: str, info: dict) -> None:
    """Mark ``neuron_id`` finished; then drop an error record left by an earlier attempt.

    Parameters
    ----------
    out_dir : str
        Batch output folder.
    neuron_id : str
        Neuron id.
    info : dict
        JSON-serialisable details (timings in s, row counts, ...) stored in the marker with
        the neuron id, host name and process id.
    """
    info = {"neuron": neuron_id, "host": socket.gethostname(), "pid": os.getpid(), **info}
    atomic_write_bytes(output_path(out_dir, DONE, neuron_id), json.dumps(info, indent=1, default=str).encode())
    remove(output_path(out_dir, ERRORS, neuron_id))


def _ids(folder: str, prefix: str, suffix: str) -> set[str]:
    if not os.path.isdir(folder):
        return set()
    return {n[len(prefix):-len(suffix)] for n in os.listdir(folder) if n.startswith(prefix) and n.endswith(suffix)}


def done_ids(out_dir: str) -> set[str]:
    """Ids of the neurons whose outputs are complete (those with a ``done`` marker).

    Parameters
    ----------
    out_dir : str
        Batch output folder.

    Returns
    -------
    set of str
        Empty when ``out_dir`` has no ``done`` folder.
    """
    return _ids(os.path.join(out_dir, DONE), "", ".json")


def failed_ids(out_dir: str, done: set[str] | None = None) -> set[str]:
    """Ids with an error record and no ``done`` marker.

    Parameters
    ----------
    out_dir : str
        Batch output folder.
    done : set of str, optional
        :func:`done_ids` when the caller has it already (saves listing ``done/`` again).

    Returns
    -------
    set of str
    """
    return _ids(os.path.join(out_dir, ERRORS), "part-", ".parquet") - (done_ids(out_dir) if done is None else done)


def clean_temporaries(out_dir: str) -> int:
    """Remove temporary files left by processes that died mid-write.

    Only call while holding the run lock (no other process writes to ``out_dir``).

    Parameters
    ----------
    out_dir : str
        Batch output folder.

    Returns
    -------
    int
        Number of files removed.
    """
    n = 0
    for sub in TABLES + (ERRORS, NEURON_FILES, DONE):
        folder = os.path.join(out_dir, sub)
        if not os.path.isdir(folder):
            continue
        for name in os.listdir(folder):
            if is_temporary(name):  # not a finished neuron whose id holds ".tmp-"
                remove(os.path.join(folder, name))
                n += 1
    return n


class RunLock:
    """An exclusive ``flock`` on ``OUTDIR/.lock`` held for the whole run.

    The kernel drops it when the process dies (even by SIGKILL), so a killed run never
    leaves a stale lock, while two runs writing the same folder at once are refused.
    Use as a context manager: ``with RunLock(out_dir): ...``.

    Parameters
    ----------
    out_dir : str
        Batch output folder (must exist).

    Raises
    ------
    InputError
        On entering, when another process holds the lock.
    """

    def __init__(self, out_dir: str) -> None:
        self.path = os.path.join(out_dir, ".lock")
        self.fd: int | None = None

    def __enter__(self) -> "RunLock":
        import fcntl

        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self.fd)
            self.fd = None
            raise InputError(f"another neurograph batch run is writing to {os.path.dirname(self.path)}; "
                             "wait for it to finish or use another output folder") from None
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def check_run_options(out_dir: str, options: dict) -> None:
    """Store the extraction options on the first run; refuse to resume with different ones.

    Parameters
    ----------
    out_dir : str
        Batch output folder; the options go to ``run.json`` with the neurograph version.
    options : dict
        Extraction options (compared after a JSON round trip; non-JSON values as text).

    Raises
    ------
    InputError
        ``run.json`` holds different options.
    """
    path = os.path.join(out_dir, RUN_FILE)
    options = json.loads(json.dumps(options, default=str))
    if os.path.exists(path):
        with open(path) as fh:
            old = json.load(fh).get("options", {})
        if old != options:
            diff = {k: (old.get(k), options.get(k)) for k in set(old) | set(options) if old.get(k) != options.get(k)}
            raise InputError(f"{out_dir} holds results made with other extraction options "
                             f"(option: (stored, now) = {diff}); resume with the same options or use a new folder")
        return
    from ..version import __version__

    atomic_write_bytes(path, json.dumps({"neurograph": __version__, "options": options}, indent=1).encode())


@dataclass
class BatchResults:
    """All tables of a batch output folder (each a pandas DataFrame with a ``neuron`` column).

    Attributes
    ----------
    neurons : DataFrame
        One row per extracted neuron: ``neuron, label, path, kind``, the feature vector of
        :func:`neurograph.neuron_features` (its columns and units:
        :func:`neurograph.feature_table`), then the ``Neuron.summary`` columns it lacks
        (``n_somas, n_branches, mesh_area, bbox_x``, ...; lengths µm, areas µm², volumes µm³,
        widths nm). :meth:`features` gives it ready for :mod:`neurograph.classify`.
    branches : DataFrame
        One row per branch: ``neuron, branch`` and the branch features.
    spines, synapses : DataFrame
        Rows of the neurons' ``spines`` / ``synapses`` tables (empty when none had them).
    errors : DataFrame
        One row per failed neuron: ``neuron, path, stage, exception, message``.
    """

    neurons: pd.DataFrame
    branches: pd.DataFrame
    spines: pd.DataFrame
    synapses: pd.DataFrame
    errors: pd.DataFrame
    out_dir: str = field(default="", repr=False)

    def __getitem__(self, table: str) -> pd.DataFrame:
        if table not in TABLES + (ERRORS,):
            raise KeyError(f"no table {table!r}; tables: {TABLES + (ERRORS,)}")
        return getattr(self, table)

    def features(self) -> pd.DataFrame:
        """The ``neurons`` table indexed by neuron id, for :mod:`neurograph.classify`.

        Use as ``classify.cross_validate(res.features(), "label")`` or ``classify.predict(model,
        res.features())`` (a model trained on :func:`neurograph.neuron_features` finds its
        columns here; text columns such as ``path`` are not used as features).

        Returns
        -------
        pandas.DataFrame
            ``neurons`` with index ``neuron`` (a new frame; ``neurons`` is unchanged).
        """
        return self.neurons.set_index("neuron")

    def graph_dataset(self, features=None, soma: bool = True, nan: float = 0.0, label: str | None = "label") -> list:
        """One :class:`~neurograph.features.graph_arrays.GraphArrays` per extracted neuron, from the tables.

        Built from ``branches`` (features, ``parent`` links, ``compartment``) and ``neurons``
        (``n_somas``, the label column) without loading the saved neurons.

        Parameters
        ----------
        features : sequence of str, optional
            Node features (:data:`~neurograph.features.graph_arrays.BRANCH_FEATURES`); default
            :data:`~neurograph.features.graph_arrays.DEFAULT_FEATURES`.
        soma : bool, default True
            Include soma nodes.
        nan : float, default 0
            Value for unknown features.
        label : str or None, default "label"
            ``neurons`` column copied to each graph's ``label``.

        Returns
        -------
        list of GraphArrays
            In the order of ``neurons`` (sorted by id); ``[g.to_pyg() for g in ...]`` for
            PyTorch Geometric.
        """
        from ..features.graph_arrays import arrays_from_branches

        groups = dict(tuple(self.branches.groupby("neuron", sort=False))) if len(self.branches) else {}
        out = []
        for row in self.neurons.to_dict("records"):
            branches = groups.get(row["neuron"], pd.DataFrame(columns=["branch", "parent"]))
            n_somas = int(row.get("n_somas", 0) or 0)
            out.append(arrays_from_branches(branches.drop(columns="neuron", errors="ignore"), n_somas, features,
                                            soma=soma, nan=nan, name=str(row["neuron"]),
                                            label=row.get(label) if label else None))
        return out

    def neuron(self, neuron_id: str):
        """Load the saved :class:`neurograph.Neuron` of one extracted neuron.

        Parameters
        ----------
        neuron_id : str
            Id in the ``neuron`` column of ``neurons``.

        Returns
        -------
        Neuron
            Read from ``neuron_files/<id>.neuron.zip`` with :func:`neurograph.load`.

        Raises
        ------
        InputError
            ``neuron_id`` is not among the extracted neurons.
        FormatError
            Its neuron file is missing (run with ``save_neurons=False``) or unreadable.
        """
        from ..graph import load

        if neuron_id not in set(self.neurons["neuron"]):
            raise InputError(f"{neuron_id!r} was not extracted in {self.out_dir}")
        return load(output_path(self.out_dir, NEURON_FILES, neuron_id))


def _align_numbers(parts: list) -> list:
    """One type per numeric column across the parts: a column that is int64 in some parts and float64
    in others (an integer column with missing values, which earlier versions of neurograph wrote as
    float64) becomes int64 where every float value is whole (NaN -> null), else
    float64 everywhere; Arrow cannot merge them with 18-digit ids in the int64 parts."""
    kinds: dict[str, set] = {}
    for t in parts:
        for f in t.schema:
            if not pa.types.is_null(f.type):
                kinds.setdefault(f.name, set()).add(f.type)
    for name, ts in kinds.items():
        if len(ts) < 2 or not any(pa.types.is_integer(x) for x in ts) or not all(
                pa.types.is_integer(x) or pa.types.is_floating(x) for x in ts):
            continue
        floats = [t.column(name).to_numpy() for t in parts
                  if name in t.column_names and pa.types.is_floating(t.schema.field(name).type)]
        with np.errstate(invalid="ignore"):
            whole = all(np.all(np.isnan(v) | ((np.floor(v) == v) & (np.abs(v) < 2.0 ** 63))) for v in floats)
        target = pa.int64() if whole else pa.float64()
        for i, t in enumerate(parts):
            if name not in t.column_names or t.schema.field(name).type == target:
                continue
            col = t.column(name)
            if target == pa.int64():
                col = pa.array(col.to_numpy(), from_pandas=True).cast(pa.int64())  # NaN -> null
            else:
                col = col.cast(pa.float64(), safe=False)
            parts[i] = t.set_column(t.column_names.index(name), name, col)
    return parts


def _read_parts(out_dir: str, table: str, ids: list[str], threads: int = 8) -> pd.DataFrame:
    files = [output_path(out_dir, table, i) for i in ids]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        return pd.DataFrame(columns=ERROR_COLUMNS if table == ERRORS else ["neuron"])

    def read(f: str) -> pa.Table:
        try:
            return pq.read_table(f)
        except (OSError, pa.ArrowInvalid) as exc:
            raise FormatError(f"{f} is not a readable Parquet file ({exc})") from exc

    with ThreadPoolExecutor(threads) as pool:
        parts = _align_numbers(list(pool.map(read, files)))
    try:
        merged = pa.concat_tables(parts, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FormatError(f"the parts of {os.path.join(out_dir, table)} hold one column with types that do not "
                          f"merge ({exc}); write the folder again with one neurograph version") from exc
    frame = merged.to_pandas()
    for col in merged.schema:  # integers with missing values as nullable Int64, not rounded floats
        if pa.types.is_integer(col.type) and merged.column(col.name).null_count:
            frame[col.name] = merged.column(col.name).to_pandas(types_mapper={col.type: pd.Int64Dtype()}.get)
    return frame.reset_index(drop=True)


def read_results(out_dir: str | os.PathLike, tables: tuple[str, ...] | None = None) -> BatchResults:
    """Read a batch output folder back: every table as one DataFrame.

    Only neurons with a ``done`` marker are read (parts of a neuron whose run was killed
    are ignored), sorted by neuron id, so the result does not depend on the order in which
    workers finished. Errors are those of neurons that are not done.

    Parameters
    ----------
    out_dir : str or PathLike
        The ``out_dir`` of :func:`neurograph.batch.extract_all`.
    tables : tuple of str, optional
        Read only these (``neurons, branches, spines, synapses, errors``); the others are empty.

    Returns
    -------
    BatchResults

    Raises
    ------
    InputError
        ``out_dir`` is not a batch output folder.
    """
    out_dir = os.fspath(out_dir)
    if not os.path.isdir(os.path.join(out_dir, DONE)):
        raise InputError(f"{out_dir} is not a neurograph batch output folder (no '{DONE}' subfolder)")
    wanted = TABLES + (ERRORS,) if tables is None else tuple(tables)
    unknown = set(wanted) - set(TABLES + (ERRORS,))
    if unknown:
        raise InputError(f"unknown tables {sorted(unknown)}; choose from {TABLES + (ERRORS,)}")
    done_set = done_ids(out_dir)
    done, failed = sorted(done_set), sorted(failed_ids(out_dir, done_set))
    out = {}
    for name in TABLES + (ERRORS,):
        if name not in wanted:
            out[name] = pd.DataFrame()
            continue
        out[name] = _read_parts(out_dir, name, failed if name == ERRORS else done)
    return BatchResults(**out, out_dir=out_dir)
