"""Neuroglancer precomputed layers: written by cloud-volume's own writer (and igneous for sharded
multi-resolution meshes) in a temporary folder, read back by neurograph and by cloud-volume."""

from __future__ import annotations

import json

import numpy as np
import pytest

cloudvolume = pytest.importorskip("cloudvolume")

import neurograph as ng  # noqa: E402
from neurograph.errors import FormatError, InputError, MeshError, SourceError  # noqa: E402
from neurograph.io import precomputed as pc  # noqa: E402

SID = 722817260


def _layer(path, resolution=(8, 8, 40)):
    info = cloudvolume.CloudVolume.create_new_info(
        num_channels=1, layer_type="segmentation", data_type="uint64", encoding="raw", resolution=list(resolution),
        voxel_offset=[0, 0, 0], chunk_size=[64, 64, 64], volume_size=[4096, 4096, 1024], mesh="mesh",
        skeletons="skeletons")
    cv = cloudvolume.CloudVolume(f"file://{path}", info=info, progress=False)
    cv.commit_info()
    return cv


@pytest.fixture(scope="module")
def hemibrain_mesh(navis_data):
    """The hemibrain example mesh in nm (8 nm voxels in the file)."""
    return ng.load_mesh(navis_data / "obj" / f"{SID}.obj", voxel_size=8)


@pytest.fixture(scope="module")
def legacy_layer(tmp_path_factory, hemibrain_mesh):
    """A legacy-mesh layer written by cloud-volume: the hemibrain mesh, one corrupt and one truncated segment."""
    path = tmp_path_factory.mktemp("legacy")
    cv = _layer(path)
    v, f = np.asarray(hemibrain_mesh.vertices, np.float32), np.asarray(hemibrain_mesh.faces, np.uint32)
    cv.mesh.put(cloudvolume.Mesh(v, f, segid=SID))
    cv.mesh.put(cloudvolume.Mesh(v, f, segid=5))
    cv.mesh.put(cloudvolume.Mesh(v, f, segid=6))
    (path / "mesh" / "5:0:1.gz").write_bytes(b"this is not gzip")           # corrupt
    import gzip
    (path / "mesh" / "6:0:1.gz").write_bytes(gzip.compress(b"\x10\x00\x00\x00" + b"\x00" * 20))  # truncated
    return path


def test_legacy_mesh_read_by_neurograph_and_cloudvolume(legacy_layer, hemibrain_mesh):
    for source in (f"precomputed://file://{legacy_layer}", f"file://{legacy_layer}", str(legacy_layer)):
        mesh = ng.load_mesh(source, segment_id=SID)
        assert np.array_equal(mesh.faces, hemibrain_mesh.faces)
        assert np.array_equal(mesh.vertices, np.asarray(hemibrain_mesh.vertices, np.float32))
    assert mesh.metadata["name"] == str(SID)
    assert mesh.metadata["precomputed"]["resolution_nm"] == [8.0, 8.0, 40.0]   # from the info, not guessed
    assert mesh.metadata["precomputed"]["mesh_type"] == "neuroglancer_legacy_mesh"
    theirs = cloudvolume.CloudVolume(f"file://{legacy_layer}", progress=False).mesh.get(
        SID, remove_duplicate_vertices=False)
    assert np.array_equal(theirs.vertices, mesh.vertices) and np.array_equal(theirs.faces, mesh.faces)


def test_missing_corrupt_and_misused_sources(legacy_layer):
    with pytest.raises(InputError, match="not in the layer"):
        ng.load_mesh(str(legacy_layer), segment_id=99)
    with pytest.raises(FormatError, match="corrupt"):
        ng.load_mesh(str(legacy_layer), segment_id=5)
    with pytest.raises(FormatError, match="corrupt"):
        ng.load_mesh(str(legacy_layer), segment_id=6)
    with pytest.raises(MeshError, match="segment_id"):
        ng.load_mesh(str(legacy_layer))
    with pytest.raises(MeshError, match="own units"):
        ng.load_mesh(str(legacy_layer), segment_id=SID, voxel_size=8)
    with pytest.raises(InputError, match="not a readable precomputed layer"):
        ng.load_mesh(f"file://{legacy_layer}/nothing_here", segment_id=SID)
    with pytest.raises(InputError, match="no skeletons|not in the layer"):
        ng.load_skeleton(str(legacy_layer), SID)


def test_transient_failures_are_retried_with_backoff_then_reported():
    calls, waits = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionResetError("connection reset by peer")
        return "data"

    assert pc.with_retries(flaky, "reading x", retries=3, backoff=0.5, sleep=waits.append) == "data"
    assert waits == [0.5, 1.0]                                   # exponential backoff

    def down():
        raise TimeoutError("timed out")

    waits.clear()
    with pytest.raises(SourceError, match="after 3 attempts"):
        pc.with_retries(down, "reading y", retries=2, backoff=1.0, sleep=waits.append)
    assert waits == [1.0, 2.0]

    def missing():
        calls.append(1)
        raise FileNotFoundError("gone")

    calls.clear()
    with pytest.raises(FileNotFoundError):
        pc.with_retries(missing, "reading z", retries=3, sleep=waits.append)
    assert len(calls) == 1                                       # a missing file is not retried


def test_sharded_multiresolution_mesh_written_by_igneous(tmp_path, hemibrain_mesh):
    tc = pytest.importorskip("igneous.task_creation")
    src = tmp_path / "src"
    cv = _layer(src)
    cv.mesh.put(cloudvolume.Mesh(np.asarray(hemibrain_mesh.vertices, np.float32),
                                 np.asarray(hemibrain_mesh.faces, np.uint32), segid=SID))
    dest = tmp_path / "multires"
    for task in tc.create_sharded_multires_mesh_from_unsharded_tasks(f"file://{src}", f"file://{dest}", num_lod=2,
                                                                     mip=0):
        task()
    info = json.loads((dest / "mesh" / "info").read_text())
    assert info["@type"] == "neuroglancer_multilod_draco" and info["sharding"]
    mesh = ng.load_mesh(f"precomputed://file://{dest}", segment_id=SID)
    meta = mesh.metadata["precomputed"]
    assert meta["sharded"] and meta["mesh_type"] == "neuroglancer_multilod_draco"
    # 16-bit Draco quantisation of each octree chunk: positions to well under 10 nm
    size = hemibrain_mesh.extents.max()
    assert np.allclose(mesh.bounds, hemibrain_mesh.bounds, atol=size / 2**14 + 1)
    assert mesh.area == pytest.approx(hemibrain_mesh.area, rel=1e-3)
    coarse = ng.load_mesh(str(dest), segment_id=SID, lod=1)
    assert len(coarse.faces) < len(mesh.faces)
    with pytest.raises(InputError, match="not in the layer"):
        ng.load_mesh(str(dest), segment_id=123)


def test_skeleton_written_by_cloudvolume_is_rooted_at_its_soma(tmp_path):
    """A plain cloud-volume skeleton (radius and SWC vertex types only), soma in the middle of the list."""
    cv = _layer(tmp_path)
    # a Y: soma at vertex 3, three straight arms of 10 um in 1 um steps (nm)
    arms = [np.array(d, float) for d in ((1, 0, 0), (0, 1, 0), (0, 0, -1))]
    vertices, edges, idx = [np.zeros(3)], [], 0
    for arm in arms:
        prev = 0
        for k in range(1, 11):
            vertices.append(arm * 1000.0 * k)
            idx += 1
            edges.append((prev, idx))
            prev = idx
    vertices = np.array(vertices)
    order = np.r_[1:4, 0, 4:len(vertices)]                  # the soma is stored 4th
    new = np.empty_like(order)
    new[order] = np.arange(len(order))
    radius = np.full(len(vertices), 200.0)
    radius[0] = 5000.0
    types = np.full(len(vertices), 3, np.uint8)
    types[0] = 1
    skel = cloudvolume.Skeleton(vertices[order].astype(np.float32), new[np.array(edges)].astype(np.uint32),
                                radii=radius[order].astype(np.float32), vertex_types=types[order], segid=7)
    cv.skeleton.upload(skel)
    neuron = ng.load_skeleton(f"precomputed://file://{tmp_path}", 7)
    assert neuron.n_somas == 1 and neuron.somas[0].radius == pytest.approx(5000.0)
    branches = neuron.branches
    assert len(branches) == 3 and (branches["parent"] == 0).all()
    # the same tree as an SWC file (nm, soma first) gives the same branches through load_swc
    parent = np.full(len(vertices), -1)
    for a, b in edges:
        parent[b] = a
    swc = tmp_path / "y.swc"
    swc.write_text("".join(f"{i + 1} {types[i]} {x} {y} {z} {radius[i]} {parent[i] + 1 if parent[i] >= 0 else -1}\n"
                           for i, (x, y, z) in enumerate(vertices)))
    ref = ng.load_swc(swc, units="nm").branches
    assert np.allclose(np.sort(branches["length"]), np.sort(ref["length"]), rtol=1e-6)
    assert branches["length"].sum() == pytest.approx(15.0)  # 3 arms of 10 um, their inner 5 um inside the soma
    assert neuron.repair_report["segment_id"] == 7
    with pytest.raises(InputError, match="not in the layer"):
        ng.load_skeleton(str(tmp_path), 8)
