"""Batch runner (issue #6): broken inputs, faults, SIGKILL + resume, Dask == local.

Inputs are small on purpose (2 cores): the navis hemibrain mesh 722817260 (8 nm voxels) and
SWC 1734350788, two synthetic fragments (or trimesh capsules while neurograph.synthetic is
missing), and four broken files. One uninterrupted local run is the reference the other
runs are compared with.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import neurograph as ng
from neurograph.batch import Task, extract_all, read_manifest, read_results, resolve_inputs
from neurograph.batch.store import DONE, output_path
from neurograph.errors import InputError

BROKEN = {"empty": "empty", "truncated": "truncated", "nan": "NaN", "not_a_mesh": "no triangles"}
HEMI_MESH, HEMI_SWC = "hemi_722817260", "hemi_swc_1734350788"
SYNTHETIC = ["syn_1", "syn_2"]
HAS_LOAD_SWC = hasattr(ng, "load_swc")


def _small_mesh(seed: int):
    try:
        from neurograph.synthetic import make_neuron
    except ImportError:
        import trimesh

        return trimesh.creation.capsule(height=20_000.0 + 5_000 * seed, radius=800.0, count=(24, 24))
    return make_neuron(seed=seed, shape="fragment").mesh


@pytest.fixture(scope="module")
def manifest(tmp_path_factory, navis_data) -> Path:
    d = tmp_path_factory.mktemp("batch_inputs")
    for seed, sid in zip((1, 2), SYNTHETIC):
        _small_mesh(seed).export(d / f"{sid}.ply")
    (d / "empty.ply").write_bytes(b"")
    data = (d / "syn_1.ply").read_bytes()
    (d / "truncated.ply").write_bytes(data[: len(data) * 2 // 5])
    (d / "nan.obj").write_text("v 0 0 0\nv nan 1 0\nv 0 1 1\nv 1 1 0\nf 1 2 3\nf 1 3 4\n")
    (d / "not_a_mesh.obj").write_text("this is a text file, not a mesh\n")
    rows = [(HEMI_MESH, str(navis_data / "obj" / "722817260.obj"), "8", "", "DA1_lPN"),
            (HEMI_SWC, str(navis_data / "swc" / "1734350788.swc"), "8", "voxel", "DA1_lPN")]
    rows += [(s, f"{s}.ply", "1", "", "synthetic") for s in SYNTHETIC]
    rows += [(b, f"{b}.{'obj' if b in ('nan', 'not_a_mesh') else 'ply'}", "1", "", "broken") for b in BROKEN]
    pd.DataFrame(rows, columns=["id", "path", "voxel_size", "units", "label"]).to_csv(d / "manifest.csv", index=False)
    return d / "manifest.csv"


def _good() -> list[str]:
    return [HEMI_MESH] + SYNTHETIC + ([HEMI_SWC] if HAS_LOAD_SWC else [])


@pytest.fixture(scope="module")
def reference(manifest, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batch_reference") / "out"
    summary = extract_all(manifest, out, workers=2, progress=False)
    assert summary.total == 8 and summary.succeeded + summary.failed == 8
    return out


def _assert_same(a, b) -> None:
    for name in ("neurons", "branches", "spines", "synapses", "errors"):
        pd.testing.assert_frame_equal(a[name], b[name], check_dtype=True, obj=name)


def test_manifest_and_inputs(manifest, tmp_path):
    tasks = read_manifest(manifest)
    assert [t.id for t in tasks][:2] == [HEMI_MESH, HEMI_SWC]
    assert tasks[0].voxel_size == 8.0 and tasks[0].kind == "mesh" and tasks[1].kind == "swc"
    assert tasks[1].units == "voxel" and tasks[2].path == str(manifest.parent / "syn_1.ply")
    # a folder gives its mesh/SWC files only, ids from stems made safe
    (tmp_path / "a b#1.ply").write_text("x")
    (tmp_path / "notes.txt").write_text("x")
    assert [t.id for t in resolve_inputs(tmp_path)] == ["a_b_1"]
    bad = tmp_path / "bad.csv"
    bad.write_text("id,path\n../evil,x.ply\n")
    with pytest.raises(InputError, match="not a safe file name"):
        read_manifest(bad)
    bad.write_text("id,path\nsame,x.ply\nsame,y.ply\n")
    with pytest.raises(InputError, match="used twice"):
        resolve_inputs(bad)
    with pytest.raises(InputError, match="'path' column"):
        bad.write_text("file\nx.ply\n")
        read_manifest(bad)
    with pytest.raises(InputError, match="SWC units"):
        extract_all([Task("s", str(manifest), "swc")], tmp_path / "o", progress=False)


def test_good_extracted_broken_recorded(reference, manifest):
    res = read_results(reference)
    good = _good()
    assert sorted(res.neurons["neuron"]) == sorted(good)
    expected_errors = set(BROKEN) | (set() if HAS_LOAD_SWC else {HEMI_SWC})
    assert set(res.errors["neuron"]) == expected_errors
    errors = res.errors.set_index("neuron")
    for bid, words in BROKEN.items():
        assert words in errors.loc[bid, "message"], errors.loc[bid, "message"]
        assert errors.loc[bid, "stage"] == "load" and errors.loc[bid, "exception"] == "MeshError"
        assert errors.loc[bid, "path"].startswith(str(manifest.parent))
    if not HAS_LOAD_SWC:
        assert "SWC input needs neurograph.load_swc" in errors.loc[HEMI_SWC, "message"]
    # the tables agree with each other and with the saved neurons
    neurons = res.neurons.set_index("neuron")
    counts = res.branches.groupby("neuron").size()
    for nid in good:
        assert counts[nid] == neurons.loc[nid, "n_branches"] > 0
        saved = res.neuron(nid)
        assert len(saved.branches) == counts[nid]
        np.testing.assert_allclose(saved.branches["length"].to_numpy(),
                                   res.branches.loc[res.branches.neuron == nid, "length"].to_numpy())
    assert neurons.loc[HEMI_MESH, "label"] == "DA1_lPN" and neurons.loc["syn_1", "label"] == "synthetic"
    # µm: a whole hemibrain PN in 8 nm voxels (~2,000 µm raw; the feature is on the canonical form, side arms
    # < 10 µm pruned: ~900 µm; voxels read as nm would give ~110)
    assert neurons.loc[HEMI_MESH, "total_length"] > 600
    # the neurons table is the documented feature vector (plus ids and the other summary columns)
    features = ng.neuron_features(res.neuron("syn_1"))
    assert list(res.neurons.columns[:4]) == ["neuron", "label", "path", "kind"]
    assert list(res.neurons.columns[4:4 + features.shape[1]]) == list(features.columns)
    assert {"n_somas", "n_branches", "mesh_area", "bbox_x"} <= set(res.neurons.columns)
    assert res.neurons.columns.is_unique
    pd.testing.assert_series_equal(neurons.loc["syn_1", features.columns].astype(float), features.iloc[0],
                                   check_names=False, rtol=1e-9)
    # each table is also one Parquet dataset for other readers
    assert pq.read_table(reference / "branches").num_rows == len(res.branches)
    # a QC picture per extracted neuron (a real PNG), none for the broken ones
    from PIL import Image

    assert sorted(p.stem for p in (reference / "qc").glob("*.png")) == sorted(good)
    with Image.open(reference / "qc" / f"{HEMI_MESH}.png") as im:
        assert im.format == "PNG" and im.size[0] > 300 and im.size[1] > 100


def test_neurons_table_feeds_classify(reference):
    from neurograph import classify

    res = read_results(reference)
    table = res.features()
    assert list(table.index) == sorted(_good()) and "label" in table.columns
    # a model trained on neurograph.neuron_features finds its columns in the batch table
    saved = ng.neuron_features([res.neuron(n) for n in table.index])
    model = classify.train(saved, table["label"].to_numpy(), model="logistic")
    got, want = classify.predict(model, table), classify.predict(model, saved)
    assert list(got.index) == list(table.index)
    pd.testing.assert_frame_equal(got, want, check_names=False, rtol=1e-6)
    # and the batch table trains directly (label column by name, text columns left out)
    direct = classify.train(table, "label")
    assert set(saved.columns) <= set(direct.feature_names_in_)
    assert not {"neuron", "path", "kind", "label"} & set(direct.feature_names_in_)


def test_rerun_skips_and_retry_failed(reference, manifest):
    stamps = {n: os.stat(output_path(str(reference), DONE, n)).st_mtime_ns for n in _good()}
    again = extract_all(manifest, reference, workers=2, progress=False)
    assert again.succeeded == again.failed == 0
    assert again.skipped_done == len(_good()) and again.skipped_failed == 8 - len(_good())
    retry = extract_all(manifest, reference, workers=2, progress=False, retry_failed=True)
    assert retry.succeeded == 0 and retry.failed == 8 - len(_good()) and retry.skipped_done == len(_good())
    assert stamps == {n: os.stat(output_path(str(reference), DONE, n)).st_mtime_ns for n in _good()}
    with pytest.raises(InputError, match="other extraction options"):
        extract_all(manifest, reference, voxel_size=4, progress=False)


def _tree(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def test_sigkill_parent_then_resume_gives_same_results(reference, manifest, tmp_path):
    import psutil

    out = tmp_path / "killed"
    cmd = [sys.executable, "-m", "neurograph.cli", "batch", str(manifest), "-o", str(out), "--workers", "2", "-q"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / "done").is_dir() and len(os.listdir(out / "done")) >= 1:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    children = _tree(proc.pid)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # the workers go down with the parent (no orphan keeps writing); a worker may still finish
    # the neuron it was writing in the few ms before it goes, so list what is done only after
    gone, alive = psutil.wait_procs([psutil.Process(p) for p in children if psutil.pid_exists(p)], timeout=15)
    assert not alive
    finished = {n[:-5]: os.stat(out / "done" / n).st_mtime_ns for n in os.listdir(out / "done")}
    assert 1 <= len(finished) < len(_good())
    # nothing half-written: every visible file is complete
    for folder in ("neurons", "branches", "errors"):
        for f in (out / folder).iterdir():
            if not f.name.startswith("."):
                pq.read_table(f)
    for f in (out / "neuron_files").iterdir():
        if not f.name.startswith(".") and ".tmp" not in f.name:
            ng.load(f)
    resumed = extract_all(manifest, out, workers=2, progress=False)
    assert resumed.skipped_done == len(finished)
    assert {n: os.stat(out / "done" / f"{n}.json").st_mtime_ns for n in finished} == finished
    assert not [f for f in out.rglob("*") if ".tmp" in f.name]
    _assert_same(read_results(out), read_results(reference))


def test_time_limit_memory_limit_and_killed_worker(manifest, tmp_path):
    import psutil

    tasks = {t.id: t for t in read_manifest(manifest)}
    extract_all([tasks[HEMI_MESH], tasks["empty"]], tmp_path / "t", workers=2, time_limit=0.5, progress=False)
    err = read_results(tmp_path / "t").errors.set_index("neuron")
    assert err.loc[HEMI_MESH, "exception"] == "TimeLimitExceeded"
    assert "time limit of 0.5 s" in err.loc[HEMI_MESH, "message"] and err.loc[HEMI_MESH, "stage"] != "start"
    assert err.loc["empty", "exception"] == "MeshError"

    extract_all([tasks[HEMI_MESH]], tmp_path / "m", workers=1, memory_limit="300M", progress=False)
    err = read_results(tmp_path / "m").errors.set_index("neuron")
    assert err.loc[HEMI_MESH, "exception"] in ("MemoryError", "WorkerDied")
    assert "memory" in err.loc[HEMI_MESH, "message"]

    # a worker killed from outside (as by the OOM killer) fails only its own neuron
    def killer():
        me = psutil.Process()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for server in me.children():
                if "forkserver" in " ".join(server.cmdline()):
                    workers = server.children()
                    if workers:
                        time.sleep(0.3)
                        workers[0].send_signal(signal.SIGKILL)
                        return
            time.sleep(0.02)

    thread = threading.Thread(target=killer)
    thread.start()
    summary = extract_all([tasks[HEMI_MESH], tasks["syn_1"]], tmp_path / "k", workers=1, progress=False)
    thread.join()
    res = read_results(tmp_path / "k")
    assert summary.failed == 1 and list(res.neurons["neuron"]) == ["syn_1"]
    row = res.errors.set_index("neuron").loc[HEMI_MESH]
    assert row["exception"] == "WorkerDied" and "SIGKILL" in row["message"]


@pytest.fixture
def dask_client():
    """A 2-worker LocalCluster that starts and stays up on a small, busy machine.

    Its worker processes are spawned (each a fresh interpreter importing numpy, pandas, dask
    and then neurograph; ~2 s idle, much longer on 2 cores shared with other jobs): generous
    comm timeouts (default 30 s to connect), both workers waited for before anything runs, random
    local ports only (no dashboard, no fixed scheduler port another run could hold), and no
    nanny memory manager (it pauses or restarts workers at a fraction of the machine's
    memory, which other jobs on a shared machine use too).
    """
    distributed = pytest.importorskip("dask.distributed")
    import dask

    timeouts = {"distributed.comm.timeouts.connect": "120s", "distributed.comm.timeouts.tcp": "300s",
                "distributed.deploy.lost-worker-timeout": "120s"}
    with dask.config.set(timeouts), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                     scheduler_port=0, dashboard_address=None, memory_limit=0) as cluster, \
            distributed.Client(cluster, timeout="120s") as client:
        client.wait_for_workers(2, timeout=300)
        yield client


def test_dask_local_cluster_same_tables(reference, manifest, tmp_path, dask_client):
    # all neurons in the Dask workers themselves; two in one subprocess each (what a
    # time limit needs: ~2 s of interpreter start-up per neuron, so only two; the limit is
    # generous, it only selects the subprocess path)
    inside = extract_all(manifest, tmp_path / "inside", scheduler=dask_client, progress=False)
    tasks = {t.id: t for t in read_manifest(manifest)}
    isolated = extract_all([tasks["syn_1"], tasks["empty"]], tmp_path / "isolated", scheduler=dask_client,
                           progress=False, time_limit=900)
    ref = read_results(reference)
    got = read_results(tmp_path / "inside")
    assert (inside.succeeded, inside.failed) == (len(_good()), 8 - len(_good())), got.errors.to_dict("records")
    _assert_same(got, ref)
    assert sorted(os.listdir(tmp_path / "inside" / "neuron_files")) == sorted(f"{n}.neuron.zip" for n in _good())
    got = read_results(tmp_path / "isolated")
    assert (isolated.succeeded, isolated.failed) == (1, 1), got.errors.to_dict("records")
    for name in ("neurons", "branches", "spines", "errors"):  # columns only other neurons have are dropped
        want = ref[name][ref[name]["neuron"].isin(["syn_1", "empty"])].dropna(axis=1, how="all")
        pd.testing.assert_frame_equal(got[name].dropna(axis=1, how="all"), want.reset_index(drop=True),
                                      check_dtype=False, obj=name)


def test_cli_batch_folder(tmp_path, manifest):
    from neurograph.cli import main

    src = tmp_path / "in"
    src.mkdir()
    for name in ("syn_1.ply", "empty.ply"):
        (src / name).write_bytes((manifest.parent / name).read_bytes())
    assert main(["batch", str(src), "-o", str(tmp_path / "o"), "--workers", "1", "-q"]) == 1  # no unit: not started
    assert not (tmp_path / "o").exists()
    assert main(["batch", str(src), "-o", str(tmp_path / "o"), "--voxel-size", "1", "--workers", "1", "-q"]) == 3
    res = read_results(tmp_path / "o")
    assert list(res.neurons["neuron"]) == ["syn_1"] and list(res.errors["neuron"]) == ["empty"]
    assert main(["batch", str(src), "-o", str(tmp_path / "o"), "--voxel-size", "8", "-q"]) == 1


@pytest.mark.realdata
def test_microns_mesh_with_synapse_table(tmp_path):
    from .conftest import SHARED

    mesh = SHARED / "microns_neurd" / "864691135510518224_decimated_mesh.off"
    synapses = SHARED / "microns_neurd" / "864691135510518224_synapses.csv"
    if not (mesh.exists() and synapses.exists()):
        pytest.skip("real MICrONS data not present (../shared/data)")
    manifest = tmp_path / "m.csv"
    pd.DataFrame({"id": ["m864691135510518224"], "path": [str(mesh)], "synapses": [str(synapses)],
                  "synapse_voxel_size": ["4 4 40"], "voxel_size": ["1"]}).to_csv(manifest, index=False)
    summary = extract_all(manifest, tmp_path / "o", workers=1, progress=False)
    res = read_results(tmp_path / "o")
    assert summary.succeeded == 1, res.errors.to_dict("records")
    n_rows = len(pd.read_csv(synapses))
    assert len(res.synapses) == n_rows and set(res.synapses["neuron"]) == {"m864691135510518224"}
    # synapse coordinates came in as 4 x 4 x 40 nm voxels: z in nm lies inside the mesh's z range
    loaded = ng.load_mesh(mesh, voxel_size=1)
    assert loaded.bounds[0, 2] - 5000 < res.synapses["z"].median() < loaded.bounds[1, 2] + 5000
    assert res.neurons.loc[0, "n_somas"] == 2
    # the synapses labelled the compartments, as in `neurograph extract --synapses`
    pre = res.synapses[res.synapses["direction"] == "pre"]
    assert (pre["compartment"] == "axon").mean() >= 0.9
    assert set(res.branches["compartment"]) >= {"axon", "dendrite"}


def test_forkserver_preload_warms_both_paths_and_freezes_what_it_loaded():
    """The local backend's forkserver preload (``neurograph.batch._warm``) runs what a worker runs
    on a tiny mesh and a tiny SWC skeleton (extraction, feature tables, QC picture), so forked
    workers start with matplotlib and the kernels of both paths loaded, and then moves everything
    into the collector's permanent generation (``gc.freeze``): workers' full collections skip
    those objects and do not copy their pages (FAFB batch: ~1.8 -> ~1.1 s per neuron,
    docs/batch.md)."""
    code = ("import gc, sys; assert gc.get_freeze_count() == 0; import neurograph.batch._warm; "
            "print(gc.get_freeze_count(), 'matplotlib.pyplot' in sys.modules, "
            "'neurograph.features.vector' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    frozen, plotted, features = out.stdout.split()[-3:]
    assert int(frozen) > 10_000  # modules, functions, numba's registries ...
    assert plotted == "True" and features == "True"
