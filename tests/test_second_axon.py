"""The second_axon proofreading rule: an axon-like side branch of a dendrite is another cell's axon."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph as ng
from neurograph.proofread.rules import find_merges
from neurograph.proofread.second_axon import axon_like_pieces

STEP = 500.0  # nm between skeleton nodes


def _line(start, direction, length, parent, pts, par, rad, r0, r1):
    """Append nodes every STEP nm from ``start`` along ``direction`` with radius r0 -> r1; returns the last."""
    d = np.asarray(direction, float) / np.linalg.norm(direction)
    n = int(length // STEP)
    for k in range(1, n + 1):
        pts.append(np.asarray(start, float) + d * k * STEP)
        par.append(parent)
        rad.append(r0 + (r1 - r0) * k / n)
        parent = len(pts) - 1
    return parent


def _cell(piece_at_um: float | None = 60.0, piece_radius: float = 150.0, soma_axon: bool = True,
          real_branch: bool = True, radii: bool = True):
    """Soma (5 µm) with four 90 µm dendrites (radius 1000 -> 500 nm) along +-x and +-y, optionally an
    axon leaving the soma (-z, 150 nm, 150 µm, meandering), a 40 µm side piece of ``piece_radius``
    along +z on the +x dendrite ``piece_at_um`` µm from the soma surface, and a real daughter
    branch (400 -> 200 nm, tapering as dendrites do) along +z on the -x dendrite at 40 µm. Returns (neuron, piece start, branch start)."""
    from neurograph.mesh import Soma
    from neurograph.skeleton import Skeleton

    soma_r = 5000.0
    pts, par, rad = [np.zeros(3)], [-1], [soma_r]
    starts = {}
    for d in ([1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0]):
        d = np.asarray(d, float)
        base = d * soma_r
        pts.append(base)
        par.append(0)
        rad.append(1000.0)
        first = len(pts) - 1
        # nodes along the dendrite, remembering the one at each distance for side branches
        last = _line(base, d, 90000, first, pts, par, rad, 1000.0, 500.0)
        nodes = np.arange(first, last + 1)
        if d[0] == 1 and piece_at_um is not None:
            j = int(nodes[int(piece_at_um * 1e3 // STEP)])
            starts["piece"] = len(pts)
            _line(pts[j], [0, 0, 1], 40000, j, pts, par, rad, piece_radius, piece_radius)
        if d[0] == -1 and real_branch:
            j = int(nodes[int(40000 // STEP)])
            starts["branch"] = len(pts)
            _line(pts[j], [0, 0.5, 1], 40000, j, pts, par, rad, 400.0, 200.0)
    if soma_axon:
        node = _line([0, 0, -soma_r], [0, 0, -1], 1000, 0, pts, par, rad, 150.0, 150.0)
        for k, d in enumerate(([1, 0, -1], [0, 1, 0], [-1, 0, 1], [0, -1, 0], [1, 0, -1], [0, 1, 0])):
            node = _line(pts[node], d, 25000, node, pts, par, rad, 150.0, 150.0)  # axons meander
    xyz = np.asarray(pts)
    radius = np.asarray(rad) if radii else np.r_[soma_r, np.full(len(xyz) - 1, np.nan)]
    sk = Skeleton(xyz, np.asarray(par), radius, None, np.array([0]))
    neuron = ng.decompose(sk, [Soma(center=xyz[0], radius=soma_r, faces=np.empty(0, np.int64))], name="cell")
    return neuron, starts


def _row(neuron, table, node):
    b = int(neuron.node_branch[node])
    return table.set_index("branch").loc[b]


def test_distal_axon_piece_is_a_merge_real_branch_is_not():
    neuron, starts = _cell()
    table = axon_like_pieces(neuron)
    piece, branch = _row(neuron, table, starts["piece"]), _row(neuron, table, starts["branch"])
    assert piece["merge"] and piece["width_ratio"] < 0.4 and piece["score"] >= 0.5
    assert piece["path_um"] == pytest.approx(60.0, abs=1.5)
    assert not branch["merge"] and branch["taper"] < 0.8  # a real daughter: it tapers
    assert table["merge"].sum() == 1
    found = find_merges(neuron, rules=["second_axon"])
    assert len(found) == 1 and found["rule"].iat[0] == "second_axon"
    cleaned, pieces = ng.proofread(neuron, rules=["second_axon"])
    assert list(pieces["rule"]) == ["second_axon"]
    assert cleaned.skeleton.cable_length == pytest.approx(neuron.skeleton.cable_length - 40000, abs=1500)


@pytest.mark.parametrize("soma_axon, merge", [(True, True), (False, False)])
def test_piece_is_a_merge_only_when_the_axon_leaves_elsewhere(soma_axon, merge):
    # 15 µm out: an axon may leave a dendrite (axon-carrying dendrite), but a neuron has one
    # axon, so with a larger axon leaving the soma it is a second one
    neuron, starts = _cell(piece_at_um=15.0, soma_axon=soma_axon, real_branch=False)
    row = _row(neuron, axon_like_pieces(neuron), starts["piece"])
    assert bool(row["merge"]) is merge and bool(row["other_axon_um"] > 100) is merge


def test_thick_piece_and_radiusless_skeleton_are_not_merges():
    neuron, starts = _cell(piece_radius=700.0)  # as thick as the dendrite: a real branch
    assert not _row(neuron, axon_like_pieces(neuron), starts["piece"])["merge"]
    neuron, _ = _cell(radii=False)  # no widths: the rule cannot judge calibre and says nothing
    assert len(axon_like_pieces(neuron)) == 0 and len(find_merges(neuron, rules=["second_axon"])) == 0


def test_rule_is_invariant_to_rotation_and_translation():
    from scipy.spatial.transform import Rotation

    from neurograph.mesh import Soma
    from neurograph.skeleton import Skeleton

    neuron, _ = _cell()
    rot = Rotation.random(random_state=3).as_matrix()
    sk = neuron.skeleton

    moved = Skeleton(sk.vertices @ rot.T + 1e6, sk.parent, sk.radius, None, sk.soma_nodes)
    soma = neuron.somas[0]
    turned = ng.decompose(moved, [Soma(center=soma.center @ rot.T + 1e6, radius=soma.radius,
                                       faces=np.empty(0, np.int64))], name="turned")
    a = axon_like_pieces(neuron).set_index("branch")
    b = axon_like_pieces(turned).set_index("branch")
    assert a["merge"].sum() == b["merge"].sum() == 1
    np.testing.assert_allclose(a["score"].sort_values().to_numpy(), b["score"].sort_values().to_numpy(), atol=0.02)  # float32 nodes far from the origin


def test_synthetic_axon_ending_on_a_dendrite_is_cut():
    # seed 7: a 0.2-0.4 µm axon fragment ending on a dendrite ~95 µm out, at a T-contact whose width
    # ratio (0.45) is above the calibre_jump threshold: before second_axon nothing removed it
    from neurograph.synthetic import make_merge

    m = make_merge(seed=7, kind="axon_on_dendrite")
    neuron = ng.extract(m.mesh, voxel_size=1, spines=False, step=600.0)
    cleaned, pieces = ng.proofread(neuron)
    cut = pieces[(pieces["rule"] == "second_axon") & (pieces["action"] == "cut")]
    assert len(cut) >= 1
    assert np.linalg.norm(cut[["x", "y", "z"]].to_numpy(float) - m.merge_points[0], axis=1).min() < 5000

    def cable(n, cell):
        return n.skeleton.edge_lengths[m.cell_of(n.skeleton.vertices) == cell].sum()

    assert cable(cleaned, 1) <= 0.05 * cable(neuron, 1)  # >= 95% of the fragment removed
    assert cable(cleaned, 0) >= 0.95 * cable(neuron, 0)  # the host keeps its own
