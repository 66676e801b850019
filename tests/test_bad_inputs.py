"""The hostile-input corpus (tests/bad_inputs/generate.py) through the library, every CLI
command and the batch runner: never a foreign exception, a hang, a run over the memory
budget or code executed from a data file."""

from __future__ import annotations

import contextlib
import io
import os
import resource
import signal
import time
import warnings
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import trimesh

import neurograph as ng
from neurograph import classify
from neurograph.cli import main
from neurograph.errors import NeurographError, UnitsWarning
from tests.bad_inputs.generate import MARKER, generate

TIMEOUT_S = 60          # per call: a hang fails the case
MEMORY_BUDGET = 3 * 2**30  # peak resident memory of the corpus run, bytes
CLEAR_BATCH_ERRORS = {"InputError", "UnitsError", "MeshError", "SkeletonError", "FormatError", "NeurographError"}


class Hang(BaseException):
    """Raised by the alarm: a call ran past TIMEOUT_S."""


def _alarm(signum, frame):
    raise Hang()


def _status(field: str) -> int:
    """A size from /proc/self/status (bytes; 0 when absent)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


def _vm_size() -> int:
    return _status("VmSize")


def _reset_peak() -> bool:
    """Start the peak resident size (VmHWM) afresh: the pytest worker ran other test files
    before this one, and their peak is not the corpus run's (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _outcome(fn) -> tuple[str, str]:
    """Run ``fn()`` under the alarm: ("ok"|"clear"|"foreign"|"hang"|"memory", detail)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn()
        warned = any(issubclass(w.category, UnitsWarning) for w in caught)
        return "ok", ("warned" if warned else "") + (f" rc={result}" if isinstance(result, int) else "")
    except Hang:
        return "hang", f"> {TIMEOUT_S} s"
    except MemoryError as exc:
        return "memory", repr(exc)
    except NeurographError as exc:
        return "clear", str(exc)
    except SystemExit as exc:  # argparse usage errors and --version
        return ("clear" if exc.code in (0, 2) else "foreign"), f"SystemExit({exc.code})"
    except Exception as exc:  # noqa: BLE001 - what the test hunts for
        return "foreign", f"{type(exc).__name__}: {exc}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _cli(argv: list[str]):
    """``neurograph ARGV`` in-process; returns the exit code, raising a clear error for 1-3."""
    err, out = io.StringIO(), io.StringIO()

    def run():
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            return main(argv)

    status, detail = _outcome(run)
    if status == "ok":
        code = int(detail.split("rc=")[-1])
        if code in (1, 3):
            text = err.getvalue()
            if "neurograph" not in text or "Traceback" in text:
                return "foreign", f"exit {code} without a clear message: {text[-300:]}"
            return "clear", text.strip().splitlines()[-1]
        if code == 2:
            return "clear", err.getvalue().strip()[-200:]
        return ("ok" if code == 0 else "foreign"), f"exit {code}"
    return status, detail


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad_inputs")
    neuron = ng.extract(trimesh.creation.capsule(height=20_000.0, radius=1_500.0, count=(12, 12)), voxel_size=1,
                        spines=False, name="capsule")
    neuron.save(folder / "valid.neuron.zip")
    return folder, generate(str(folder / "corpus"), str(folder / "valid.neuron.zip")), neuron


def _library_call(case, neuron, tables_ok):
    from neurograph.classify_cli import read_table
    from neurograph.synapses.mapping import assign_synapses

    a = case.args
    if case.kind == "mesh":
        return lambda: ng.extract(case.path, voxel_size=a.get("voxel_size", 1.0), spines=False)
    if case.kind == "swc":
        return lambda: ng.load_swc(case.path, units=a["units"])
    if case.kind == "synapses":
        if a.get("strict") is False:
            return lambda: assign_synapses(neuron, ng.load_synapses(case.path, voxel_size=1), strict_units=False)
        return lambda: ng.map_synapses(neuron, case.path, voxel_size=1)
    if case.kind == "neuron":
        return lambda: ng.load(case.path)
    if case.kind == "model":
        return lambda: classify.predict(classify.load_model(case.path), tables_ok)
    if case.kind == "table":
        def fit():
            table = read_table(case.path)
            if "label" not in table.columns:
                raise AssertionError("corpus tables have a label column")
            return classify.cross_validate(table, "label", n_splits=3, n_estimators=10, min_class_size=3)
        return fit
    raise AssertionError(case.kind)


def _cli_argv(case, out: str, capsule_path: str, table_ok_path: str) -> list[str]:
    a = case.args
    if case.kind == "mesh":
        return ["extract", case.path, "-o", out, "--no-spines", "--voxel-size", str(a.get("voxel_size", 1.0))]
    if case.kind == "swc":
        return ["features", case.path, "--units", a["units"], "-o", os.path.join(out, "f.csv"), "-q"]
    if case.kind == "synapses":
        return ["extract", capsule_path, "-o", out, "--no-spines", "--voxel-size", "1", "--synapses", case.path,
                "--synapse-voxel-size", "1"]
    if case.kind == "neuron":
        return ["features", case.path, "-o", os.path.join(out, "f.csv"), "-q"]
    if case.kind == "model":
        return ["predict", case.path, table_ok_path, "-o", os.path.join(out, "p.csv")]
    if case.kind == "table":
        return ["train", case.path, "--label", "label", "-o", os.path.join(out, "model"), "--cv", "3",
                "--min-class-size", "3", "--model", "logistic"]  # fast; the forests run in the library calls
    raise AssertionError(case.kind)


def test_corpus_never_crashes_hangs_or_runs_code(corpus, tmp_path, monkeypatch, capsys):
    folder, cases, neuron = corpus
    kinds = Counter(c.kind for c in cases)
    assert len(cases) >= 40 and len(kinds) == 6, kinds
    capsule_path = str(folder / "corpus" / "meshes" / "capsule_nm.ply")
    table_ok_path = str(folder / "corpus" / "tables" / "labels_numeric_strings.parquet")
    tables_ok = pd.read_parquet(table_ok_path).drop(columns=["label"])
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    old_soft = resource.getrlimit(resource.RLIMIT_AS)[0]
    resource.setrlimit(resource.RLIMIT_AS, (_vm_size() + 8 * 2**30, hard))  # a runaway allocation fails here
    rows = []
    fresh_peak = _reset_peak()
    try:
        for k, case in enumerate(cases):
            t0 = time.perf_counter()
            status, detail = _outcome(_library_call(case, neuron, tables_ok))
            rows.append(("library", case, status, detail, time.perf_counter() - t0))
            out = str(tmp_path / f"out{k}")
            t0 = time.perf_counter()
            status, detail = _cli(_cli_argv(case, out, capsule_path, table_ok_path))
            rows.append(("cli", case, status, detail, time.perf_counter() - t0))
        # argument mistakes
        existing = tmp_path / "a_file.txt"
        existing.write_text("x")
        for name, argv in {
            "extract --voxel-size 1 2": ["extract", capsule_path, "-o", str(tmp_path / "o1"), "--voxel-size", "1", "2"],
            "extract -o file": ["extract", capsule_path, "-o", str(existing), "--voxel-size", "1"],
            "extract without a unit": ["extract", capsule_path, "-o", str(tmp_path / "o3")],
            "batch -o file": ["batch", capsule_path, "-o", str(existing), "--voxel-size", "1", "-q"],
            "train -o file": ["train", table_ok_path, "--label", "label", "-o", str(existing)],
            "predict -o folder": ["predict", str(folder / "corpus" / "models" / "model_ok"), table_ok_path,
                                  "-o", str(tmp_path)],
            "features no units": ["features", str(folder / "corpus" / "swc" / "several_roots.swc"),
                                  "-o", str(tmp_path / "f.csv")],
            "--version": ["--version"],
            "train forest, number-like labels, --cv 0": ["train", table_ok_path, "--label", "label", "--cv", "0",
                                                        "-o", str(tmp_path / "m0")],
            "extract --memory-limit nonsense": ["extract", capsule_path, "-o", str(tmp_path / "o2"),
                                                "--voxel-size", "1", "--memory-limit", "lots"],
        }.items():
            from tests.bad_inputs.generate import Case

            t0 = time.perf_counter()
            status, detail = _cli(argv)
            expect = "ok" if name.startswith("train forest") else "error"
            rows.append(("cli", Case(name, "cli", "", expect), status, detail, time.perf_counter() - t0))
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (old_soft, hard))

    table = pd.DataFrame([{"entry": e, "case": c.name, "kind": c.kind, "expect": c.expect, "status": s,
                           "detail": d[:160], "seconds": t} for e, c, s, d, t in rows])
    # the corpus run's own peak; without the reset, the process's (which includes earlier test files)
    peak = _status("VmHWM") if fresh_peak else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    counts = table["status"].value_counts().to_dict()
    with capsys.disabled():
        print(f"\nbad-input corpus: {len(cases)} cases, {len(table)} runs (library + CLI): "
              f"{counts.get('ok', 0)} succeeded, {counts.get('clear', 0)} clear errors, "
              f"{counts.get('foreign', 0)} foreign, {counts.get('hang', 0)} hangs, {counts.get('memory', 0)} "
              f"over memory; peak RSS {peak / 2**30:.2f} GiB; slowest: "
              + ", ".join(f"{r.entry} {r.case} {r.seconds:.1f} s" for r in table.nlargest(8, "seconds").itertuples()))
    bad = table[table["status"].isin(["foreign", "hang", "memory"])]
    assert bad.empty, bad.to_string()
    assert not os.path.exists(os.path.join(folder, "corpus", "models", MARKER))
    assert not any(p.name == MARKER for p in folder.rglob("*")), "a data file ran code"
    assert not (folder / "escaped.csv").exists() and not (folder.parent / "escaped.csv").exists()
    wrong = table[((table["expect"] == "ok") & (table["status"] != "ok"))
                  | ((table["expect"] == "error") & (table["status"] != "clear"))]
    assert wrong.empty, wrong.to_string()
    warned = table[table["case"].isin([c.name for c in cases if c.args.get("warns")]) & (table["entry"] == "library")]
    assert len(warned) == 2 and warned["detail"].str.contains("warned").all(), warned.to_string()
    assert peak < MEMORY_BUDGET


@pytest.mark.filterwarnings("ignore::neurograph.errors.UnitsWarning")  # the corpus' SWCs span ~2 nm on purpose
def test_batch_runner_on_the_corpus(corpus, tmp_path, monkeypatch, capsys):
    """Broken meshes and SWCs in one batch, run from a folder holding a foreign ``neurograph/``
    package: every failure is a clear error row, the exit status is 3 and names the table."""
    folder, cases, _ = corpus
    pick = {"valid_capsule_nm.ply", "truncated.ply", "nan_vertices.ply", "garbage.obj", "empty.stl",
            "nm_mesh_given_voxel_1000.ply", "cycle.swc", "several_roots.swc", "duplicate_ids.swc"}
    rows = []
    for c in cases:
        if c.name in pick and c.name not in [r["id"] for r in rows]:
            rows.append({"path": c.path, "id": os.path.splitext(c.name)[0], "units": "nm" if c.kind == "swc" else "",
                         "voxel_size": c.args.get("voxel_size", 1) if c.kind == "mesh" else ""})
    manifest = tmp_path / "manifest.csv"
    pd.DataFrame(rows).to_csv(manifest, index=False)
    shadow = tmp_path / "cwd"
    (shadow / "neurograph").mkdir(parents=True)
    (shadow / "neurograph" / "__init__.py").write_text("")  # an old checkout in the current folder
    monkeypatch.chdir(shadow)
    out = tmp_path / "out"
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["batch", str(manifest), "-o", str(out), "--workers", "1", "--no-qc", "-q",
                     "--time-limit", "120", "--memory-limit", "6G"])
    assert code == 3 and str(out / "errors") in err.getvalue()
    res = ng.batch.read_results(out)
    assert set(res.neurons["neuron"]) == {"valid_capsule_nm", "several_roots"}
    assert set(res.errors["exception"]) <= CLEAR_BATCH_ERRORS, res.errors.to_string()
    assert len(res.errors) == len(rows) - 2
    # train and predict read a batch output folder as their feature table
    assert main(["train", str(out), "--label", "kind", "--cv", "0", "--model", "logistic",
                 "-o", str(tmp_path / "model")]) == 0
    assert main(["predict", str(tmp_path / "model"), str(out), "-o", str(tmp_path / "p.csv")]) == 0
    predicted = pd.read_csv(tmp_path / "p.csv", index_col=0)
    assert sorted(predicted.index) == ["several_roots", "valid_capsule_nm"]
    with capsys.disabled():
        print(f"\nbatch on the corpus: {len(rows)} neurons, {len(res.neurons)} extracted, {len(res.errors)} clear "
              f"errors ({', '.join(sorted(set(res.errors['exception'])))}), exit status {code}")


def _table(n_per_class=(10, 10, 2)) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    labels = np.concatenate([[c] * k for c, k in zip("abc", n_per_class)])
    X = pd.DataFrame(rng.normal(size=(len(labels), 3)), columns=["f1", "f2", "f3"],
                     index=pd.Index([f"n{i}" for i in range(len(labels))], name="neuron"))
    X["f1"] += (labels == "b") * 3.0
    return X.assign(label=labels)


def test_pickled_models_are_refused_unless_trusted(tmp_path):
    import joblib

    from neurograph.errors import FormatError

    table = _table((10, 10, 10))
    model = classify.train(table, "label", model="logistic")
    folder = classify.save_model(model, tmp_path / "m")
    assert sorted(os.listdir(folder)) == ["model.json", "model.skops"]
    joblib.dump(model, os.path.join(folder, "model.joblib"))       # an old-style model folder
    os.remove(os.path.join(folder, "model.skops"))
    with pytest.raises(FormatError, match="pickle"):
        classify.load_model(folder)
    old = classify.load_model(folder, trust_pickle=True)            # a file you made yourself
    classify.save_model(old, folder)                                # converts it
    assert sorted(os.listdir(folder)) == ["model.json", "model.skops"]
    X = table.drop(columns="label")
    np.testing.assert_array_equal(classify.load_model(folder).predict_proba(X), model.predict_proba(X))


def test_train_min_class_size_without_cv_and_deprecated_units_alias(tmp_path, capsys):
    path = tmp_path / "t.csv"
    _table().to_csv(path)
    code = main(["train", str(path), "--label", "label", "--cv", "0", "--min-class-size", "3", "--model",
                 "logistic", "-o", str(tmp_path / "m")])
    assert code == 0 and "left out 1 class" in capsys.readouterr().out
    assert list(classify.load_model(tmp_path / "m").classes_) == ["a", "b"]
    from neurograph.cli import build_parser

    args = build_parser().parse_args(["batch", "x.swc", "-o", "out", "--swc-units", "nm"])
    assert args.units == "nm" and "deprecated" in capsys.readouterr().err
    assert build_parser().parse_args(["batch", "x.swc", "-o", "out", "--units", "um"]).units == "um"
