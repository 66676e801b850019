"""Round trips Neuron -> navis -> Neuron and Neuron -> precomputed -> cloud-volume / neurograph,
navis neurons in (units from navis), and branch graphs as arrays for GNNs."""

from __future__ import annotations

import json

import numpy as np
import pytest

import neurograph as ng
from neurograph import synthetic
from neurograph.errors import InputError
from neurograph.graph.labels import node_compartments, node_spine_counts

navis = pytest.importorskip("navis")


@pytest.fixture(scope="module")
def labelled():
    """A small synthetic neuron with spines, synapses and compartment labels."""
    cell = synthetic.make_neuron(seed=3, shape="bipolar", spines_per_um=0.6)
    neuron = ng.extract(cell.mesh, voxel_size=1, name="bipolar3", synapses=synthetic.sample_synapses(cell, seed=3))
    assert neuron.spines is not None and len(neuron.spines) > 5
    assert set(node_compartments(neuron)) >= {"soma", "axon"}
    return neuron


def _node_map(a, b):
    """Index of each node of skeleton a in skeleton b (matched by position; asserts a bijection)."""
    from scipy.spatial import cKDTree

    dist, idx = cKDTree(b.vertices).query(a.vertices)
    assert len(np.unique(idx)) == len(idx)
    return dist, idx


def test_navis_round_trip_is_exact(labelled):
    tree = labelled.to_navis()
    assert isinstance(tree, navis.TreeNeuron) and str(tree.units) == "1 nanometer"
    assert {"compartment", "branch"} <= set(tree.nodes.columns)
    assert len(tree.connectors) == int((labelled.synapses["node"] >= 0).sum())
    assert set(tree.connectors["type"]) <= {"pre", "post"}
    back = ng.from_navis(tree)
    assert back.name == labelled.name
    dist, idx = _node_map(labelled.skeleton, back.skeleton)
    assert dist.max() == 0.0                                       # same coordinates, in nm
    assert np.array_equal(node_compartments(labelled), node_compartments(back)[idx])
    # same decomposition: the branch of every node maps one to one
    pairs = set(zip(labelled.node_branch.tolist(), back.node_branch[idx].tolist()))
    assert len(pairs) == len(set(labelled.node_branch.tolist())) == len(set(back.node_branch.tolist()))
    a, b = labelled.branches, back.branches
    assert np.allclose(np.sort(a["length"]), np.sort(b["length"]), rtol=1e-9)
    assert len(back.synapses) == len(tree.connectors) and back.synapses["mapped"].all()
    assert (back.synapses["direction"].value_counts().sort_index()
            == labelled.synapses[labelled.synapses["node"] >= 0]["direction"].value_counts().sort_index()).all()
    mesh = labelled.to_navis(kind="mesh")
    assert isinstance(mesh, navis.MeshNeuron) and str(mesh.units) == "1 nanometer"
    assert np.array_equal(np.asarray(mesh.vertices), np.asarray(labelled.mesh.vertices))


def test_from_navis_takes_units_from_navis(navis_data):
    nl = navis.example_neurons(2, kind="skeleton")
    neurons = ng.from_navis(nl)
    assert isinstance(neurons, list) and len(neurons) == 2
    n = nl[0]
    assert str(n.units) == "8 nanometer"
    ref = ng.load_swc(navis_data / "swc" / f"{n.id}.swc", units="voxel", voxel_size=8)
    assert neurons[0].name == str(n.id)
    # navis keeps float32 coordinates: equal to float32 precision
    assert neurons[0].branches["length"].sum() == pytest.approx(ref.branches["length"].sum(), rel=1e-6)
    assert neurons[0].n_somas == 1
    # connectors -> synapses, in nm (8 nm voxels)
    assert len(neurons[0].synapses) == len(n.connectors) and neurons[0].synapses["mapped"].all()
    assert np.allclose(neurons[0].synapses[["x", "y", "z"]].to_numpy(float),
                       n.connectors[["x", "y", "z"]].to_numpy(float) * 8)
    unitless = n.copy()
    unitless.units = None
    with pytest.raises(InputError, match="no length unit"):
        ng.from_navis(unitless)
    scaled = ng.from_navis(unitless, nm_per_unit=8)
    assert scaled.branches["length"].sum() == pytest.approx(neurons[0].branches["length"].sum())
    with pytest.raises(InputError, match="TreeNeuron, MeshNeuron"):
        ng.from_navis("not a neuron")


def test_precomputed_round_trip_cloudvolume_and_neurograph(labelled, tmp_path):
    cloudvolume = pytest.importorskip("cloudvolume")
    out = labelled.to_precomputed(tmp_path / "layer")
    sid = out["segment_id"]
    cv = cloudvolume.CloudVolume(f"file://{tmp_path / 'layer'}", progress=False)
    skel = cv.skeleton.get(sid)
    sk = labelled.skeleton
    assert np.array_equal(skel.vertices, sk.vertices.astype(np.float32))   # float32 precision
    edges = {tuple(sorted(e)) for e in np.asarray(skel.edges).tolist()}
    child = np.flatnonzero(sk.parent >= 0)
    assert edges == {tuple(sorted(e)) for e in zip(child.tolist(), sk.parent[child].tolist())}
    assert np.array_equal(skel.branch, labelled.node_branch)
    assert np.array_equal(skel.spine, node_spine_counts(labelled))
    assert skel.spine.sum() == len(labelled.spines)
    codes = ng.io.precomputed.COMPARTMENT_CODES
    assert np.array_equal(skel.compartment, [codes[c] for c in node_compartments(labelled)])
    mesh = cv.mesh.get(sid, remove_duplicate_vertices=False)
    assert np.array_equal(mesh.vertices, np.asarray(labelled.mesh.vertices, np.float32))
    assert np.array_equal(mesh.faces, labelled.mesh.faces)
    # neurograph reads it back: same skeleton, labels and branches
    back = ng.load_skeleton(f"precomputed://file://{tmp_path / 'layer'}", sid)
    dist, idx = _node_map(labelled.skeleton, back.skeleton)
    assert dist.max() <= np.abs(sk.vertices).max() * 2.0**-23            # float32 rounding only
    assert np.array_equal(node_compartments(labelled), node_compartments(back)[idx])
    assert np.allclose(np.sort(back.branches["length"]), np.sort(labelled.branches["length"]), rtol=1e-5)
    assert back.somas[0].radius == pytest.approx(labelled.somas[0].radius, rel=1e-6)
    # Neuroglancer state: the segment, compartment-coloured skeleton shader, names listed
    state = json.loads(open(out["state"]).read())
    layer = state["layers"][0]
    assert layer["segments"] == [str(sid)]
    assert "compartment" in json.dumps(layer)
    props = json.loads((tmp_path / "layer" / "segment_properties" / "info").read_text())
    assert props["inline"]["ids"] == [str(sid)] and props["inline"]["properties"][0]["values"] == ["bipolar3"]


def test_graph_arrays(labelled):
    g = ng.graph_arrays(labelled)
    branches = labelled.branches
    assert g.n_nodes == len(branches) + labelled.n_somas
    assert g.x.shape == (g.n_nodes, len(g.feature_names)) and g.x.dtype == np.float32
    assert len(g.units) == len(g.feature_names) and g.units[g.feature_names.index("length")] == "µm"
    # a tree: every non-root node has one parent edge, given in both directions
    assert g.edge_index.shape == (2, 2 * (g.n_nodes - labelled.n_somas))
    row = {int(b): i for i, b in enumerate(g.node_ids)}
    for b, p in branches["parent"].items():
        assert (row[p], row[b]) in set(zip(*g.edge_index.tolist()))
    assert np.isfinite(g.x).all()
    length = g.x[:, g.feature_names.index("length")]
    assert np.allclose(length[labelled.n_somas:], branches["length"].to_numpy(), rtol=1e-6)
    codes = ng.io.precomputed.COMPARTMENT_CODES
    assert g.compartment[0] == codes["soma"]
    assert np.array_equal(g.compartment[labelled.n_somas:], [codes[c] for c in branches["compartment"]])
    only = ng.graph_arrays(labelled, features=["length", "n_spines"], soma=False)
    assert only.feature_names == ["length", "n_spines", "is_soma"] and only.n_nodes == len(branches)
    assert only.edge_index.shape[1] == 2 * int((branches["parent"] >= labelled.n_somas).sum())
    with pytest.raises(InputError, match="unknown node features"):
        ng.graph_arrays(labelled, features=["soma_x"])


def test_to_pyg_when_installed(labelled):
    pytest.importorskip("torch_geometric")
    data = ng.graph_arrays(labelled, label=2).to_pyg()
    assert data.x.shape[0] == data.edge_index.max().item() + 1 and int(data.y) == 2
