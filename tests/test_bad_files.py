"""Files as people write them: mistakes that used to load as wrong neurons, or lose data, without a
word (a review of the file readers, the saved-neuron format, the batch store and the command line;
each case failed before its fix)."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph.errors import DataWarning, FormatError, MeshError

SWC = """1 1 0 0 0 5 -1
2 3 10 0 0 1 1
3 3 20 0 0 1 2
4 3 30 0 0 1 3
5 3 20 10 0 1 3
6 3 20 20 0 1 5
7 2 -10 0 0 0.5 1
8 2 -20 0 0 0.5 7
9 2 -30 5 0 0.5 8
"""


def _cable_um(neuron) -> float:
    sk = neuron.skeleton
    child = np.flatnonzero(sk.parent >= 0)
    return float(np.linalg.norm(sk.vertices[child] - sk.vertices[sk.parent[child]], axis=1).sum()) / 1e3


# ------------------------------------------------------------------------------------------ meshes
@pytest.mark.parametrize("extra", ["", "vn 0 0 1\n"])  # the fast reader, and trimesh's for anything unusual
def test_an_obj_with_0_based_faces_is_refused(tmp_path, extra):
    """OBJ indices start at 1; trimesh reads 0 as the last vertex, so a 0-based file became a
    garbage mesh (~1000x the area)."""
    box = trimesh.creation.box(extents=(4000, 5000, 6000))
    lines = [f"v {x} {y} {z}" for x, y, z in box.vertices]
    good, bad = tmp_path / "good.obj", tmp_path / "bad.obj"
    good.write_text(extra + "\n".join(lines + [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in box.faces]) + "\n")
    bad.write_text(extra + "\n".join(lines + [f"f {a} {b} {c}" for a, b, c in box.faces]) + "\n")
    assert ng.load_mesh(good, voxel_size=1).area == pytest.approx(box.area)
    with pytest.raises(MeshError, match="start at 1"):
        ng.load_mesh(bad, voxel_size=1)


# ------------------------------------------------------------------------------------------ SWC
def test_an_swc_with_a_byte_order_mark_keeps_its_first_node(tmp_path):
    """Notepad / Excel write UTF-8 with a BOM: its first node was taken for a header and dropped
    (a tip first: 8 of 9 nodes, cable short, no word)."""
    lines = SWC.splitlines()
    unsorted = "\n".join(lines[::-1]) + "\n"  # a tip first
    plain, bom = tmp_path / "plain.swc", tmp_path / "bom.swc"
    plain.write_text(unsorted)
    bom.write_text(unsorted, encoding="utf-8-sig")
    a, b = (ng.load_swc(p, units="um") for p in (plain, bom))
    assert b.skeleton.n_nodes == a.skeleton.n_nodes == 9
    assert _cable_um(b) == pytest.approx(_cable_um(a))


def test_an_swc_with_decimal_commas_is_refused(tmp_path):
    """'0,5' in a space-separated line was split at the comma: radius 0, parent 5, the tree rewired."""
    comma = tmp_path / "comma.swc"
    comma.write_text(SWC.replace("0.5", "0,5"))
    with pytest.raises(FormatError, match="decimal commas"):
        ng.load_swc(comma, units="um")
    # comma-separated files stay readable, and so does a comma in a column after the seventh
    extra = tmp_path / "extra.swc"
    extra.write_text("\n".join(f"{ln} 3,4" for ln in SWC.splitlines()) + "\n")
    assert ng.load_swc(extra, units="um").skeleton.n_nodes == 9
    csv = tmp_path / "csv.swc"
    csv.write_text("\n".join(",".join(ln.split()) for ln in SWC.splitlines()) + "\n")
    assert ng.load_swc(csv, units="um").skeleton.n_nodes == 9


def test_two_somata_in_one_swc_tree_are_cut_apart_with_a_warning(tmp_path):
    """Every soma becomes a root, so a tree holding two was cut between them, silently."""
    one, two = tmp_path / "one.swc", tmp_path / "two.swc"
    one.write_text(SWC + "10 3 40 0 0 1 4\n")
    two.write_text(SWC + "10 1 40 0 0 5 4\n")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        assert _cable_um(ng.load_swc(one, units="um")) == pytest.approx(91.2, abs=0.1)
    with pytest.warns(DataWarning, match="2 somata .* share 1 tree.*1 link.*split_somas"):
        n = ng.load_swc(two, units="um")
    assert len(n.somas) == 2 and _cable_um(n) < 91.2 - 5


# ------------------------------------------------------------------------------------------ writing
def test_a_batch_resume_keeps_a_neuron_whose_id_holds_tmp(tmp_path):
    """Resuming removed every file with '.tmp-' in its name: a finished neuron with such an id
    (legal) lost its outputs on every resume."""
    from neurograph.batch import extract_all, read_results

    src = tmp_path / "in"
    src.mkdir()
    (src / "cell.tmp-1.swc").write_text(SWC)
    (src / "other.swc").write_text(SWC.replace("0.5", "0.6"))
    out = tmp_path / "out"
    extract_all(src, out, units="um", workers=1, qc=False, progress=False, isolate=False)
    extract_all(src / "other.swc", out, units="um", workers=1, qc=False, progress=False, isolate=False)  # resume
    assert sorted(read_results(out).features().index) == ["cell.tmp-1", "other"]
    assert (out / "neuron_files" / "cell.tmp-1.neuron.zip").exists()


def test_a_failed_save_leaves_no_temporary_file(tmp_path, monkeypatch):
    """A full disk (here: the archive's last table fails to write) left '<path>.tmp-<pid>' behind."""
    import zipfile

    neuron = ng.load_swc(_write(tmp_path / "a.swc", SWC), units="um")
    real = zipfile.ZipFile.writestr

    def full_disk(self, name, data, *args, **kwargs):
        if str(name).endswith((".parquet", ".csv")):
            raise OSError(28, "No space left on device")
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full_disk)
    with pytest.raises(OSError, match="No space"):
        neuron.save(tmp_path / "a.neuron.zip")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.swc"]


def _write(path, text: str):
    path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------ user columns
def test_a_saved_neuron_keeps_the_types_of_a_users_synapse_columns(tmp_path):
    """Tables were stored as CSV and re-typed on reading: 18-digit partner ids with a missing value
    came back as rounded floats, the text '007' as 7, '' as NaN."""
    import pandas as pd

    from neurograph import synthetic

    cell = synthetic.make_neuron(seed=2)
    syn = synthetic.sample_synapses(cell)
    syn["partner_root_id"] = pd.array([864691135510518225 + i for i in range(len(syn))], dtype="Int64")
    syn.loc[syn.index[2], "partner_root_id"] = pd.NA
    syn["roi"] = "007"
    syn["flag"] = "True"
    syn.loc[syn.index[0], "flag"] = ""
    n = ng.extract(cell.mesh, voxel_size=1, synapses=syn, synapse_voxel_size=1, spines=False)
    n.save(tmp_path / "n.neuron.zip")
    back = ng.load(tmp_path / "n.neuron.zip")
    for col in ("partner_root_id", "roi", "flag"):
        assert back.synapses[col].dtype == n.synapses[col].dtype, col
        pd.testing.assert_series_equal(back.synapses[col], n.synapses[col], check_index_type=False)
    pd.testing.assert_frame_equal(back.branches, n.branches)


def test_the_batch_store_keeps_integer_ids_with_missing_values():
    """Nullable integers were stored as float64: 864691135510518225 came back ...272."""
    import tempfile

    import pandas as pd

    from neurograph.batch import store

    with tempfile.TemporaryDirectory() as out:
        store.make_layout(out)
        store.write_table(out, "synapses", "a", pd.DataFrame(
            {"neuron": ["a", "a"], "pid": pd.array([864691135510518225, None], dtype="Int64"), "n": [1, 2]}))
        store.write_table(out, "synapses", "b", pd.DataFrame(
            {"neuron": ["b"], "pid": pd.array([864691135510518226], dtype="Int64"), "n": [3]}))
        got = store._read_parts(out, "synapses", ["a", "b"])
    assert got["pid"].tolist() == [864691135510518225, pd.NA, 864691135510518226]
    assert got["n"].dtype == np.int64


def test_a_batch_folder_resumed_across_versions_stays_readable():
    """Parts of earlier versions hold integer columns with gaps as float64; merged with new int64
    parts holding 18-digit ids, Arrow refused the folder (review of the change)."""
    import tempfile

    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    from neurograph.batch import store

    with tempfile.TemporaryDirectory() as out:
        store.make_layout(out)
        pq.write_table(pa.table({"neuron": ["a", "a"], "pid": [864691135510518272.0, np.nan]}),
                       store.output_path(out, "synapses", "a"))  # as written before
        store.write_table(out, "synapses", "b", pd.DataFrame(
            {"neuron": ["b", "b"], "pid": pd.array([864691135510518226, None], dtype="Int64")}))
        got = store._read_parts(out, "synapses", ["a", "b"])
        assert got["pid"].tolist() == [864691135510518272, pd.NA, 864691135510518226, pd.NA]
        pq.write_table(pa.table({"neuron": ["c"], "pid": [0.5]}), store.output_path(out, "synapses", "c"))
        assert store._read_parts(out, "synapses", ["b", "c"])["pid"].dtype == np.float64  # not whole: floats


def test_batch_parts_keep_missing_text_and_feature_types():
    """A missing value of a pandas "string" column was written as the text '<NA>'; the feature
    columns, now converted from one float array, keep their types (float32 -> float64, nullable
    floats' gaps -> null, an all-empty text column -> null)."""
    import pandas as pd
    import pyarrow as pa

    from neurograph.batch import store

    t = store._arrow_table(pd.DataFrame({
        "s": pd.array(["x", None], "string"), "f32": np.array([1.5, np.nan], np.float32),
        "F64": pd.array([1.0, None], "Float64"), "i": [1, 2], "I": pd.array([None, 3], "Int64"),
        "b": [True, False], "none": [None, None], "o": [{"a": 1}, 2.5]}))
    assert t.column("s").to_pylist() == ["x", None]
    assert t.schema.field("f32").type == pa.float64() and t.column("f32").to_pylist() == [1.5, None]
    assert t.column("F64").to_pylist() == [1.0, None] and t.schema.field("none").type == pa.null()
    assert t.schema.field("I").type == pa.int64() and t.column("I").to_pylist() == [None, 3]
    assert t.schema.field("b").type == pa.bool_() and t.column("o").to_pylist() == ["{'a': 1}", "2.5"]
    assert t.schema.metadata is None


def test_a_table_arrow_cannot_hold_is_saved_as_csv(tmp_path):
    """An object column of integers beyond int64 made Parquet raise OverflowError, and the save failed."""
    import networkx as nx
    import pandas as pd

    from neurograph.io.saved import read_archive, write_archive

    tables = {"huge": pd.DataFrame({"id": pd.Series([2 ** 70, 1], dtype=object)}),
              "plain": pd.DataFrame({"id": pd.array([864691135510518225, None], dtype="Int64")})}
    write_archive(tmp_path / "a.zip", {"name": "a"}, {}, nx.DiGraph(), tables)
    back = read_archive(tmp_path / "a.zip")[3]
    assert back["huge"]["id"].astype(str).tolist() == [str(2 ** 70), "1"]  # as CSV
    pd.testing.assert_frame_equal(back["plain"], tables["plain"])  # as Parquet


# ------------------------------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    """A small trained model and its feature table (the classify tests' synthetic table)."""
    from neurograph.cli import main
    from tests.test_classify import synthetic_table

    d = tmp_path_factory.mktemp("model")
    X, y = synthetic_table(40)
    X.assign(cell_type=y).to_parquet(d / "train.parquet")
    assert main(["train", str(d / "train.parquet"), "--label", "cell_type", "--cv", "0", "-o", str(d / "model")]) == 0
    return d


@pytest.mark.parametrize("cv", ["1", "-3"])
def test_train_refuses_fewer_than_two_folds(model_dir, tmp_path, capsys, cv):
    """--cv 1 ended in a scikit-learn traceback."""
    from neurograph.cli import main

    assert main(["train", str(model_dir / "train.parquet"), "--label", "cell_type", "--cv", cv,
                 "-o", str(tmp_path / "m")]) == 1
    assert "--cv must be 0" in capsys.readouterr().err


def test_predict_refuses_text_in_a_feature_column_and_an_empty_table(model_dir, tmp_path, capsys):
    """Text in a feature column became NaN and was imputed without a word; an empty table ended in a
    scikit-learn traceback."""
    import pandas as pd

    from neurograph.cli import main

    table = pd.read_parquet(model_dir / "train.parquet").drop(columns="cell_type")
    col = table.columns[0]
    table[col] = table[col].map(lambda v: f"{v:.3f}".replace(".", ","))  # decimal commas
    table.to_csv(tmp_path / "commas.csv")
    assert main(["predict", str(model_dir / "model"), str(tmp_path / "commas.csv"), "-o", str(tmp_path / "p.csv")]) == 1
    assert "not a number" in capsys.readouterr().err and not (tmp_path / "p.csv").exists()
    table.iloc[:0].to_parquet(tmp_path / "empty.parquet")
    assert main(["predict", str(model_dir / "model"), str(tmp_path / "empty.parquet"), "-o", str(tmp_path / "p.csv")]) == 1
    assert "no rows" in capsys.readouterr().err
    nan_words = pd.read_parquet(model_dir / "train.parquet").drop(columns="cell_type").astype(object)
    nan_words.iloc[0, 0] = "nan"  # a spelling of "missing" is not text
    assert len(ng.classify.predict(ng.classify.load_model(model_dir / "model"), nan_words)) == len(nan_words)


def test_features_checks_its_output_first_skips_bad_files_and_refuses_twin_names(tmp_path, capsys):
    """The output was checked after all the work; one bad file lost every row; two files of one
    name gave two rows of one index; '.xlsx' got CSV text."""
    import pandas as pd

    from neurograph.cli import main

    for sub, text in (("a", SWC), ("b", SWC.replace("0.5", "0.6"))):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "cell.swc").write_text(text)
    (tmp_path / "a" / "bad.swc").write_text("not an swc\n")
    assert main(["features", str(tmp_path / "a"), "--units", "um", "-q", "-o", str(tmp_path / "t.xlsx")]) == 1
    assert ".parquet or .csv" in capsys.readouterr().err
    assert main(["features", str(tmp_path / "a" / "cell.swc"), str(tmp_path / "b" / "cell.swc"), "--units", "um",
                 "-q", "-o", str(tmp_path / "t.csv")]) == 1
    assert "several input files (cell)" in capsys.readouterr().err and not (tmp_path / "t.csv").exists()
    assert main(["features", str(tmp_path / "a"), "--units", "um", "-q", "-o", str(tmp_path / "t.tsv")]) == 3
    assert "skipped" in capsys.readouterr().err
    assert list(pd.read_csv(tmp_path / "t.tsv", sep="\t", index_col=0).index) == ["cell"]


def test_extract_checks_synapses_and_pia_before_the_work(monkeypatch):
    """A missing synapse file or a zero pia direction failed only after the whole extraction."""
    from neurograph.errors import InputError

    def no_work(*args, **kwargs):
        raise AssertionError("the mesh was loaded before the arguments were checked")

    monkeypatch.setattr("neurograph.pipeline.load_mesh", no_work)
    with pytest.raises(InputError, match="does not exist"):
        ng.extract("cell.obj", voxel_size=1, synapses="missing.csv", synapse_voxel_size=1)
    with pytest.raises(InputError, match="pia must be a non-zero direction"):
        ng.extract("cell.obj", voxel_size=1, compartments={"pia": (0, 0, 0)})


def test_ctrl_c_is_one_line_and_exit_code_130(monkeypatch, capsys):
    """An interrupt printed 40 lines of traceback (inside a Numba kernel: a SystemError)."""
    from neurograph import cli

    def interrupted_in_a_kernel(args):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt:
            raise SystemError("CPUDispatcher(<function undirected_csr>) returned a result with an exception set")

    monkeypatch.setattr(cli, "_extract", interrupted_in_a_kernel)  # build_parser takes the name at its call
    assert cli.main(["extract", "x.obj", "-o", "out", "--voxel-size", "1"]) == 130
    assert capsys.readouterr().err.strip() == "neurograph: interrupted"


# ------------------------------------------------------------------------------------------ synapse tables
def test_repeated_synapse_ids_are_warned_about_and_latin1_tables_are_read(tmp_path):
    """A table concatenated twice counted every synapse twice without a word; a Latin-1 CSV (what
    Excel writes) was refused."""
    import pandas as pd

    table = pd.DataFrame({"synapse_id": [1, 2, 3], "x": [0.0, 1.0, 2.0], "y": 0.0, "z": 0.0,
                          "direction": ["pre", "post", "post"], "roi": "café"})
    with pytest.warns(DataWarning, match="repeat an id"):
        assert len(ng.load_synapses(pd.concat([table, table]), voxel_size=1)) == 6
    table.to_csv(tmp_path / "latin1.csv", index=False, encoding="latin-1")
    assert ng.load_synapses(tmp_path / "latin1.csv", voxel_size=1)["roi"].tolist() == ["café"] * 3


def _radius_less_swc(folder, n: int) -> None:
    folder.mkdir(exist_ok=True)
    no_radii = "\n".join(" ".join(line.split()[:5] + ["5" if line.split()[0] == "1" else "-1", line.split()[6]])
                         for line in SWC.strip().splitlines())
    for k in range(n):
        (folder / f"cell{k}.swc").write_text(no_radii)


def test_command_line_warnings_are_one_line_each_and_repeats_are_counted(tmp_path, capsys):
    """``features`` over a folder of radius-less skeletons printed Python's two-line warning
    (file, line number, source line) with the same paragraph for every file."""
    from neurograph.cli import main
    from neurograph.terminal import REPEATS_SHOWN, terminal_warnings

    n = REPEATS_SHOWN + 3
    _radius_less_swc(tmp_path / "in", n)
    with terminal_warnings():  # as the console script runs main
        assert main(["features", str(tmp_path / "in"), "--units", "um", "-q", "-o", str(tmp_path / "t.csv")]) == 0
    err = capsys.readouterr().err.splitlines()
    shown = [line for line in err if "no radii" in line and "not shown" not in line]
    assert len(shown) == REPEATS_SHOWN and all(line.startswith("neurograph: warning: ") for line in shown), err
    counted = [line for line in err if "not shown" in line]
    assert len(counted) == 1 and counted[0].startswith(f"neurograph: warning: {n - REPEATS_SHOWN} more UserWarning")
    assert all(f"cell{k}.swc" in counted[0] for k in range(REPEATS_SHOWN, n)), counted
    assert not any("UserWarning:" in line or "read_swc(" in line for line in err), err  # no Python format
    with pytest.warns(UserWarning, match="no radii"):  # main itself leaves warnings to its caller
        main(["features", str(tmp_path / "in" / "cell0.swc"), "--units", "um", "-q", "-o", str(tmp_path / "u.csv")])


def test_warnings_of_different_diagnoses_are_not_merged_and_a_full_stderr_fails_nothing():
    """Warnings were grouped by the line that raised them: "soma too large" and "soma too small"
    (one call site) were counted as one kind, and printing to a full stderr failed the command."""
    import io

    from neurograph.terminal import WarningPrinter, subject_and_kind

    assert subject_and_kind("SWC 'cell 7': soma radius 200.0 µm is larger than 50 µm") == (
        "cell 7", "soma radius # µm is larger than # µm")
    assert subject_and_kind("/data/a/x.swc: no radii (radius 200)") == ("x.swc", "no radii (radius #)")
    assert subject_and_kind("5 of 6 synapses are far") == ("", "# of # synapses are far")
    out = io.StringIO()
    printer = WarningPrinter(out, shown=1)
    for text in ("SWC 'a': soma 200 µm is larger than 50 µm", "SWC 'b': soma 300 µm is larger than 50 µm",
                 "SWC 'c': soma 0.1 µm is smaller than 1 µm", "d/e.swc: no radii"):
        printer.show(UserWarning(text), UserWarning, "x.py", 1)
    printer.summary()
    lines = out.getvalue().splitlines()
    assert len(lines) == 4 and "'c'" in lines[1] and "no radii" in lines[2], lines
    assert lines[3].startswith("neurograph: warning: 1 more UserWarning(s)") and lines[3].endswith("(b)"), lines

    class Full(io.StringIO):
        def write(self, text):
            raise OSError(28, "No space left on device")

    printer = WarningPrinter(Full(), shown=1)
    printer.show(UserWarning("x: y"), UserWarning, "x.py", 1)  # no exception
    printer.summary()


def test_batch_records_each_neurons_warnings_and_warns_them_in_the_caller(tmp_path):
    """Batch workers printed warnings to their own stderr in Python's format (one per neuron,
    beside the progress bar) and nothing recorded them with the neuron."""
    import json

    from neurograph.batch import extract_all
    from neurograph.batch.store import DONE, output_path

    _radius_less_swc(tmp_path / "in", 3)
    with pytest.warns(UserWarning) as record:
        summary = extract_all(str(tmp_path / "in"), tmp_path / "out", units="um", workers=1, progress=False,
                              qc=False, save_neurons=False)
    assert summary.succeeded == 3
    again = [str(w.message) for w in record if "no radii" in str(w.message)]
    assert sorted(m.split(": ")[0].rsplit("/", 1)[-1] for m in again) == ["cell0.swc", "cell1.swc", "cell2.swc"]
    with open(output_path(str(tmp_path / "out"), DONE, "cell1")) as fh:
        done = json.load(fh)
    assert [c for c, m in done["warnings"] if "no radii" in m] == ["UserWarning"], done["warnings"]

    # in a thread (Dask's threaded workers run neurons side by side) nothing is recorded: the
    # warning filters are process-wide, and one neuron's warnings went to another's record
    import threading

    from neurograph.batch.inputs import Task
    from neurograph.batch.worker import process_one

    got = {}
    path = str(tmp_path / "in" / "cell2.swc")
    worker = threading.Thread(target=lambda: got.update(process_one(
        Task("threaded", path, "swc", units="um"), str(tmp_path / "out"), {"swc_units": "um", "qc": False})))
    with pytest.warns(UserWarning, match="no radii"):  # left to Python, as without the batch
        worker.start()
        worker.join()
    assert got["ok"] and "warnings" not in got
    with open(output_path(str(tmp_path / "out"), DONE, "threaded")) as fh:
        assert json.load(fh)["warnings"] == []


def test_edge_cases_of_the_batch_parts_and_the_skeleton_lines():
    """helper-47: a skeleton without edges failed the QC picture (IndexError); column labels equal
    as text (1 and True) copied one column's values over the other."""
    import pandas as pd

    from neurograph.batch import store
    from neurograph.plot.projection import unbranched_lines

    lines, branch = unbranched_lines(np.array([-1]), np.array([0]))
    assert lines == [] and len(branch) == 0
    lines, _ = unbranched_lines(np.array([-1, -1]), np.array([0, 1]))
    assert lines == []
    with pytest.raises(ValueError, match="distinct column names"):
        store._arrow_table(pd.DataFrame([[0.5, 7]], columns=[1, "1"]))
