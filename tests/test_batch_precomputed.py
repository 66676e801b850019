"""Batch straight from a precomputed layer (written by cloud-volume in a temporary folder):
the same tables as the file-based batch of the same meshes, missing and corrupt segments in
``errors``, ``--precomputed`` output readable by cloud-volume, graph datasets from the tables."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

cloudvolume = pytest.importorskip("cloudvolume")

from neurograph import synthetic  # noqa: E402
from neurograph.batch import extract_all, read_manifest, read_results, resolve_inputs  # noqa: E402
from neurograph.batch.inputs import read_ids  # noqa: E402
from neurograph.errors import InputError  # noqa: E402
from neurograph.io.precomputed_write import create_layer  # noqa: E402

IDS = [101, 102]
MISSING, CORRUPT = 999, 103


@pytest.fixture(scope="module")
def layer_and_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("pc_batch")
    cv = create_layer(d / "layer")
    os.makedirs(d / "files")
    for seed, sid in enumerate(IDS + [CORRUPT], start=1):
        mesh = synthetic.make_neuron(seed=seed, shape="fragment").mesh
        v, f = np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.uint32)
        cv.mesh.put(cloudvolume.Mesh(v, f, segid=sid))
        if sid != CORRUPT:  # the files hold what the layer holds: float32 nm
            import trimesh

            trimesh.Trimesh(v.astype(float), f, process=False).export(d / "files" / f"{sid}.ply")
    blob = gzip.compress((d / "layer" / "mesh" / f"{CORRUPT}:0:1.gz").read_bytes()[:40])
    (d / "layer" / "mesh" / f"{CORRUPT}:0:1.gz").write_bytes(blob)      # truncated fragment
    (d / "ids.txt").write_text("# segments\n101\n102, 103\n999\n")
    return d


def test_ids_and_manifest_inputs(layer_and_files, tmp_path):
    d = layer_and_files
    assert read_ids(d / "ids.txt") == [101, 102, 103, 999]
    tasks = resolve_inputs(f"precomputed://file://{d / 'layer'}", segment_ids=d / "ids.txt")
    assert [t.id for t in tasks] == ["101", "102", "103", "999"] and {t.kind for t in tasks} == {"precomputed"}
    assert tasks[0].segment_id == 101
    with pytest.raises(InputError, match="--ids"):
        resolve_inputs(str(d / "layer"))
    (tmp_path / "m.csv").write_text(f"source,segment_id,label\nfile://{d / 'layer'},864691135510518224,x\n"
                                    f"{os.path.relpath(d / 'layer', tmp_path)},102,y\n")
    rows = read_manifest(tmp_path / "m.csv")
    assert rows[0].segment_id == 864691135510518224 and rows[0].id == "864691135510518224"   # no float rounding
    assert rows[1].path == str(d / "layer") and rows[1].label == "y"


def test_layer_batch_equals_file_batch(layer_and_files, tmp_path):
    d = layer_and_files
    cmd = [sys.executable, "-m", "neurograph.cli", "batch", f"precomputed://file://{d / 'layer'}", "--ids",
           str(d / "ids.txt"), "-o", str(tmp_path / "from_layer"), "--workers", "2", "--no-qc", "-q",
           "--precomputed", str(tmp_path / "ng")]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    # exit status 3: some neurons failed (the missing and the corrupt segment), named on stderr
    assert done.returncode == 3, done.stderr
    assert "2 neuron(s) failed" in done.stderr and "errors" in done.stderr
    extract_all(d / "files", tmp_path / "from_files", voxel_size=1, workers=2, qc=False, progress=False)
    a, b = read_results(tmp_path / "from_layer"), read_results(tmp_path / "from_files")
    assert sorted(a.neurons["neuron"]) == sorted(b.neurons["neuron"]) == ["101", "102"]
    drop = ["path", "kind"]
    pd.testing.assert_frame_equal(a.neurons.drop(columns=drop), b.neurons.drop(columns=drop))
    pd.testing.assert_frame_equal(a.branches, b.branches)
    errors = a.errors.set_index("neuron")
    assert set(errors.index) == {str(MISSING), str(CORRUPT)}
    assert errors.loc[str(MISSING), "exception"] == "InputError" and "not in the layer" in errors.loc[str(MISSING), "message"]
    assert errors.loc[str(CORRUPT), "exception"] == "FormatError" and "corrupt" in errors.loc[str(CORRUPT), "message"]
    assert (errors["stage"] == "load").all()
    # --precomputed output: every extracted neuron, readable by cloud-volume, state lists them
    cv = cloudvolume.CloudVolume(f"file://{tmp_path / 'ng'}", progress=False)
    for sid in IDS:
        skel = cv.skeleton.get(sid)
        assert len(skel.vertices) == len(a.neuron(str(sid)).skeleton.vertices)
        assert len(cv.mesh.get(sid, remove_duplicate_vertices=False).faces) > 0
    state = json.loads((tmp_path / "ng" / "neuroglancer_state.json").read_text())
    assert sorted(state["layers"][0]["segments"]) == ["101", "102"]
    # graph dataset over the batch == graph arrays of the saved neurons
    import neurograph as ng

    graphs = a.graph_dataset()
    assert [g.name for g in graphs] == ["101", "102"]
    for g in graphs:
        ref = ng.graph_arrays(a.neuron(g.name))
        assert np.array_equal(g.x, ref.x) and np.array_equal(g.edge_index, ref.edge_index)
        assert np.array_equal(g.compartment, ref.compartment)
