"""Features that travel between reconstructions (issue #11): healing, the canonical form and one
robustness test per perturbation kind of :mod:`neurograph.perturb`, on small random trees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import neurograph as ng
from neurograph import perturb
from neurograph.mesh.soma import Soma
from neurograph.skeleton import Skeleton
from neurograph.skeleton.heal import heal_skeleton
from neurograph.skeleton.resample import prune_twigs, resample

N_TREES = 10


def random_tree(seed: int, kind: dict | None = None) -> ng.Neuron:
    """A soma with 1-4 stems of random binary trees: lengths, angles, depth and node spacing
    vary between seeds so that feature values spread over the set (nm, spacing ~0.5 µm).
    ``kind`` fixes ``depth``, ``seg_um`` (µm) and ``spread`` instead (a cell type: the rest still
    varies with the seed)."""
    rng = np.random.default_rng(seed)
    pts, par = [np.zeros(3)], [-1]
    depth = int(rng.integers(3, 6))
    seg_um = rng.uniform(8, 40)
    spread = rng.uniform(0.3, 1.2)
    if kind:
        depth, seg_um, spread = kind["depth"], kind["seg_um"] * rng.uniform(0.9, 1.1), kind["spread"]

    def grow(node: int, direction: np.ndarray, level: int) -> None:
        length = seg_um * 1e3 * rng.uniform(0.5, 1.5) * (0.8 ** level)
        n = max(2, int(length / 500))
        bend = rng.normal(scale=0.15, size=3)
        for k in range(1, n + 1):
            d = direction + bend * k / n
            pts.append(pts[node] + d / np.linalg.norm(d) * length / n)
            par.append(node)
            node = len(pts) - 1
        if level < depth and rng.random() < 0.9:
            for sign in (-1, 1):
                axis = np.cross(direction, rng.normal(size=3))
                child = direction + sign * spread * axis / np.linalg.norm(axis)
                grow(node, child / np.linalg.norm(child), level + 1)

    for _ in range(int(rng.integers(1, 5))):
        d = rng.normal(size=3)
        grow(0, d / np.linalg.norm(d), 0)
    xyz = np.asarray(pts) + rng.uniform(-1e5, 1e5, 3)
    radius = np.r_[3000.0, rng.uniform(100, 400, len(xyz) - 1)]
    sk = Skeleton(xyz, np.asarray(par), radius, None, np.array([0]))
    return ng.decompose(sk, [Soma(center=xyz[0], radius=3000.0, faces=np.empty(0, np.int64))], name=f"t{seed}")


@pytest.fixture(scope="module")
def trees() -> list:
    return [random_tree(s) for s in range(N_TREES)]


@pytest.fixture(scope="module")
def clean_features(trees) -> pd.DataFrame:
    return ng.neuron_features(trees, groups=["morphology", "branches", "sholl", "arbors"])


def _rank_agreement(clean: pd.DataFrame, pert: pd.DataFrame) -> tuple[float, list]:
    rhos = {}
    for c in clean.columns:
        a, b = clean[c].to_numpy(float), pert[c].to_numpy(float)
        ok = np.isfinite(a) & np.isfinite(b)
        if ok.sum() >= 8 and np.ptp(a[ok]) > 0:
            rhos[c] = spearmanr(a[ok], b[ok]).statistic if np.ptp(b[ok]) > 0 else 0.0
    r = pd.Series(rhos)
    return float((r >= 0.8).mean()), sorted(r[r < 0.8].index)


# ------------------------------------------------------------------------------------------ healing
def test_heal_rejoins_cut_edges_exactly():
    tree = random_tree(3)
    sk = tree.skeleton
    rng = np.random.default_rng(0)
    cut = rng.choice(np.flatnonzero(sk.parent > 0), 5, replace=False)
    parent = sk.parent.copy()
    parent[cut] = -1
    broken = Skeleton(sk.vertices, parent, sk.radius, None, sk.soma_nodes, sk.node_type)
    healed, joins = heal_skeleton(broken, max_gap=5000.0)
    assert len(joins) == 5 and len(healed.roots) == 1 and healed.roots[0] == 0
    # each cut node's nearest node in another piece is its old parent (spacing 0.5 µm)
    assert np.array_equal(healed.parent, sk.parent)
    assert np.allclose(np.sort(joins["gap_um"]), np.sort(sk.edge_lengths[cut] / 1e3))


def test_heal_fragments_with_gaps():
    tree = random_tree(5)
    pieces = perturb.fragment(tree, n_pieces=5, gap_um=(0.5, 2.0), seed=1)
    assert len(pieces.skeleton.roots) == 5
    healed = ng.heal(pieces, max_gap_um=3.0)
    joins = ng.heal_report(healed)
    assert len(healed.skeleton.roots) == 1 and healed.skeleton.roots[0] == 0  # rooted at the soma
    assert len(joins) == 4 and joins["gap_um"].between(0.4, 2.0).all()  # chords of 0.5-2 µm of cable
    assert healed.repair_report["heal"]["pieces_before"] == 5
    # cable lost in the gaps is replaced by straight joins: total length within the removed amount
    assert abs(healed.skeleton.cable_length - tree.skeleton.cable_length) < 4 * 2000.0
    # too small a max gap: nothing joined, pieces reported
    apart = ng.heal(pieces, max_gap_um=0.1)
    assert len(apart.skeleton.roots) == 5 and ng.heal_report(apart).empty


def test_heal_never_joins_two_somata():
    a, b = random_tree(1), random_tree(2)
    sa, sb = a.skeleton, b.skeleton
    xyz = np.vstack([sa.vertices, sb.vertices - sb.vertices[0] + sa.vertices[0] + 1000.0])  # overlapping
    parent = np.r_[sa.parent, np.where(sb.parent >= 0, sb.parent + sa.n_nodes, -1)]
    sk = Skeleton(xyz, parent, np.r_[sa.radius, sb.radius], None, np.array([0, sa.n_nodes]))
    healed, joins = heal_skeleton(sk, 5000.0)
    assert joins.empty and len(healed.roots) == 2


def test_load_swc_heal(tmp_path):
    tree = random_tree(4)
    pieces = perturb.fragment(tree, n_pieces=3, gap_um=(1.0, 2.0), seed=0)
    path = tmp_path / "pieces.swc"
    ng.write_swc(pieces.skeleton.to_swc(units="nm"), path)
    assert len(ng.load_swc(path, units="nm").skeleton.roots) == 3
    healed = ng.load_swc(path, units="nm", heal=True)
    assert len(healed.skeleton.roots) == 1 and len(ng.heal_report(healed)) == 2
    after = ng.heal(ng.load_swc(path, units="nm"))  # healing on load is healing afterwards
    assert np.array_equal(healed.skeleton.parent, after.skeleton.parent) and healed.branches.equals(after.branches)
    assert healed.repair_report["heal"] == after.repair_report["heal"]
    with pytest.raises(ng.InputError):
        ng.heal(tree, max_gap_um=-1)
    for bad in (-1, "far", float("nan")):
        with pytest.raises(ng.InputError, match="heal"):
            ng.load_swc(path, units="nm", heal=bad)


# ----------------------------------------------------------------------------------- canonical form
def test_prune_twigs_and_resample():
    tree = random_tree(6)
    sk = tree.skeleton
    with_twigs = perturb.add_twigs(tree, factor=2.7, seed=0).skeleton
    bp = lambda s: int((s.children_count() >= 2).sum())  # noqa: E731
    assert bp(with_twigs) >= 2.5 * bp(sk)
    a, b = prune_twigs(sk, 4000.0), prune_twigs(with_twigs, 4000.0)
    assert abs(bp(a) - bp(b)) <= 1  # the added twigs (<= 3 µm) are gone again
    assert abs(a.cable_length - b.cable_length) < 0.02 * a.cable_length
    r = resample(sk, 1000.0)
    assert abs(r.cable_length - sk.cable_length) < 0.01 * sk.cable_length
    assert bp(r) == bp(sk) and r.edge_lengths[r.parent >= 0].max() <= 1000.0 + 1e-6
    assert len(r.roots) == 1 and r.soma_nodes.tolist() == [0]


def test_feature_table_names_the_form():
    table = ng.feature_table()
    assert set(table["form"]) == {"canonical", "raw"}
    assert (table.loc[table["group"] == "morphology", "form"] == "canonical").all()
    assert (table.loc[table["group"] == "radii", "form"] == "raw").all()
    assert table.at["first_branch_path", "form"] == "canonical" and table.at["axon_dendrite_ratio", "form"] == "raw"


# --------------------------------------------------------------------- one test per perturbation kind
@pytest.mark.parametrize("kind", perturb.KINDS)
def test_features_survive_perturbation(kind, trees, clean_features):
    out = []
    for k, t in enumerate(trees):
        p = perturb.perturb(t, kind, seed=k)
        if kind in ("fragments", "all"):
            assert len(p.skeleton.roots) >= 2 or t.skeleton.n_nodes < 200
            p = ng.heal(p)
            assert len(p.skeleton.roots) == 1
        out.append(p)
    pert = ng.neuron_features(out, groups=["morphology", "branches", "sholl", "arbors"])
    frac, fails = _rank_agreement(clean_features, pert)
    # measured: 98-100 % on the canonical form for one perturbation, 92-96 % for all at once; the raw form
    # (before issue #11) falls to 85 % with twigs and 83 % with all
    least = 0.90 if kind == "all" else 0.93
    assert frac >= least, f"{kind}: only {frac:.1%} of features keep rank correlation >= 0.8; failing: {fails}"
    if kind == "rotate_mirror":  # exactly invariant up to rounding
        both = clean_features.notna() & pert.notna()
        assert np.allclose(clean_features[both].fillna(0), pert[both].fillna(0), rtol=1e-6, atol=1e-6)


def test_constant_radii_are_not_measurements():
    tree = random_tree(0)
    const = perturb.set_radii(tree, "constant", value=150.0)
    row = ng.neuron_features(const, groups=["radii"])
    assert row.isna().all(axis=None)
    assert ng.neuron_features(tree, groups=["radii"]).notna().all(axis=None)


def test_scale_multiplies_lengths_and_keeps_ratios():
    tree = random_tree(3)
    big = perturb.scale(tree, 1.25)
    # the raw form scales exactly (the canonical form prunes and resamples at fixed lengths)
    a, b = (ng.neuron_features(n, groups=["morphology", "branches", "arbors"], form="raw").iloc[0] for n in (tree, big))
    assert b["total_length"] == pytest.approx(1.25 * a["total_length"], rel=1e-9)
    assert b["max_path_length"] == pytest.approx(1.25 * a["max_path_length"], rel=1e-9)
    assert big.somas[0].radius == pytest.approx(1.25 * tree.somas[0].radius)
    for col in ("tortuosity_q50", "partition_asymmetry", "pc2_over_pc1"):  # scale-free
        assert b[col] == pytest.approx(a[col], rel=1e-6, abs=1e-9)
    for bad in (0, -1.0, float("nan"), "x"):
        with pytest.raises(ng.InputError):
            perturb.scale(tree, bad)


# --------------------------------------------------------------------------- soma-less: root estimate
def _with_fibre(seed: int, fibre_um: float = 80.0) -> ng.Neuron:
    """random_tree(seed) with one stem, hung on an unbranched cell body fibre of ``fibre_um``
    µm (an insect neuron's soma sits at the end of one)."""
    tree = random_tree(seed)
    sk = tree.skeleton
    stems = np.flatnonzero(sk.parent == 0)
    keep = np.ones(sk.n_nodes, bool)
    keep[0] = False
    from neurograph.skeleton.tree import mark_subtree
    top = np.zeros(sk.n_nodes, bool)
    top[stems[0]] = True
    keep &= mark_subtree(sk.topological_order(), sk.parent, top)  # the first stem only
    idx = np.flatnonzero(keep)
    new = np.cumsum(keep) - 1
    start = sk.vertices[stems[0]]
    d = start - sk.vertices[0]
    d /= np.linalg.norm(d)
    n_fibre = int(fibre_um)
    fibre = start - d * np.arange(n_fibre, 0, -1)[:, None] * 1e3  # soma end first, 1 µm apart
    xyz = np.vstack([fibre, sk.vertices[idx]])
    parent = np.r_[-1, np.arange(n_fibre - 1), np.where(sk.parent[idx] > 0, new[np.maximum(sk.parent[idx], 0)] + n_fibre,
                                                         n_fibre - 1)]
    return ng.decompose(Skeleton(xyz, parent, np.full(len(xyz), 200.0)), [], name=f"f{seed}")


@pytest.mark.parametrize("seed", [0, 2, 7])
def test_soma_less_tree_is_rooted_at_its_fibre_end(seed):
    from neurograph.skeleton.tree import reroot_at

    truth = _with_fibre(seed)
    sk = truth.skeleton
    tips = np.flatnonzero(sk.children_count() == 0)
    a = ng.neuron_features(truth, groups=["morphology", "arbors"]).iloc[0]
    for tip in tips[:: max(1, len(tips) // 3)][:3]:  # the file's root anywhere: a tip of the far arbor
        moved = ng.decompose(Skeleton(sk.vertices, reroot_at(sk.parent, int(tip)), sk.radius), [], name="m")
        form = ng.canonical(moved)
        root = form.skeleton.vertices[form.skeleton.roots[0]]
        assert np.linalg.norm(root - sk.vertices[0]) < 1.0  # the fibre's end, where the soma was
        b = ng.neuron_features(moved, groups=["morphology", "arbors"]).iloc[0]
        both = a.notna() & b.notna()
        assert both.sum() > 50 and (a.notna() == b.notna()).all()
        assert np.allclose(a[both], b[both], rtol=1e-6, atol=1e-6)  # features do not depend on the file's root


def test_trees_with_a_soma_keep_their_root():
    tree = random_tree(4)
    form = ng.canonical(tree)
    assert form.skeleton.roots.tolist() == [0] and form.skeleton.soma_nodes.tolist() == [0]


def test_drop_soma_perturbation():
    tree = random_tree(2)
    bare = perturb.drop_soma(tree, seed=3)
    assert bare.somas == [] and len(bare.skeleton.soma_nodes) == 0
    assert bare.skeleton.n_nodes == tree.skeleton.n_nodes - 1
    assert len(bare.skeleton.roots) == int((tree.skeleton.parent == 0).sum())  # one tree per stem
    root = bare.skeleton.roots
    assert all((bare.skeleton.parent == r).sum() == 1 for r in root)  # every root is a former tip


# ------------------------------------------------------------------- spikes: nodes displaced off their neurite
def _line(n: int = 41, spacing_nm: float = 1000.0) -> Skeleton:
    """A straight unbranched neurite along x, ``n`` nodes ``spacing_nm`` apart, rooted at node 0."""
    xyz = np.column_stack([np.arange(n) * spacing_nm, np.zeros(n), np.zeros(n)])
    return Skeleton(xyz, np.r_[-1, np.arange(n - 1)], np.full(n, 200.0))


def test_straighten_spikes_puts_a_displaced_node_back():
    from neurograph.skeleton.resample import straighten_spikes

    sk = _line(161, 250.0)  # 40 µm traced every 0.25 µm, as the FAFB tracings
    bad = sk.vertices.copy()
    bad[80] += [-3000.0, 12000.0, 0.0]  # a misaligned section: one node 12.4 µm off, both neighbours in place
    spiked = Skeleton(bad, sk.parent, sk.radius)
    assert spiked.cable_length == pytest.approx(39500.0 + np.hypot(3250.0, 12000.0) + np.hypot(2750.0, 12000.0))
    fixed = straighten_spikes(spiked)
    # the fold (out to the spike and back, until the two ways part) lies on the neurite again, in order
    assert np.abs(fixed.vertices[:, 1:]).max() < 1e-6 and (np.diff(fixed.vertices[:, 0]) > 0).all()
    moved = np.flatnonzero(np.linalg.norm(fixed.vertices - sk.vertices, axis=1) > 1e-6)
    # they part ~4 µm beyond the spike's base on a straight neurite (2 (t - 12.4) = 0.5 t at t ~ 16.5 µm)
    assert 80 in moved and moved.min() >= 80 - 20 and moved.max() <= 80 + 20
    assert fixed.cable_length == pytest.approx(40000.0, rel=1e-12)
    # the same spike sampled 10x more densely, or 12x more coarsely (no node at its tip), comes out the same
    for spacing in (25.0, 3000.0):
        other = resample(spiked, spacing)
        assert other.cable_length > 60000.0 if spacing < 250 else other.cable_length > 50000.0
        assert straighten_spikes(other).cable_length == pytest.approx(40000.0, rel=1e-9)
    # a twig on the spike: the canonical form prunes it first, then takes the spike out
    twig = Skeleton(np.vstack([bad, bad[80] + [1500.0, -2000.0, 0.0]]), np.r_[sk.parent, 80], np.full(162, 200.0))
    form = ng.canonical(ng.decompose(twig, [], name="t"))
    assert form.skeleton.cable_length == pytest.approx(40000.0, rel=1e-6)
    assert straighten_spikes(sk) is sk  # nothing to move
    # the canonical form measures the neurite, not the spike: a straight backbone, 40 µm long
    neuron = ng.decompose(spiked, [], name="s")
    row = ng.neuron_features(neuron, groups=["morphology"]).iloc[0]
    assert row["total_length"] == pytest.approx(40.0, rel=1e-9)
    straight = row[[f"backbone_straightness_{k}" for k in range(10)]].to_numpy(float)
    assert np.allclose(straight, 1.0, atol=1e-9)
    raw = ng.neuron_features(neuron, groups=["morphology"], form="raw").iloc[0]
    assert raw["total_length"] > 62.0 and raw["max_path_length"] > 62.0  # the raw form keeps the spike


def test_straighten_spikes_moves_a_displaced_branch_point_and_keeps_real_turns():
    from neurograph.skeleton.resample import straighten_spikes

    # a branch point at (10, 0, 0) µm with two children 1 µm on, displaced by 8 µm in z
    xyz = np.array([[0, 0, 0], [9, 0, 0], [10, 0, 8], [11, 0.5, 0], [11, -0.5, 0], [20, 5, 0], [20, -5, 0]]) * 1e3
    parent = np.array([-1, 0, 1, 2, 2, 3, 4])
    fixed = straighten_spikes(Skeleton(xyz, parent, np.full(7, 200.0)))
    assert np.allclose(fixed.vertices[2], [31000 / 3, 0.0, 0.0])  # mean of (9, 0, 0), (11, ±0.5, 0)
    assert np.array_equal(np.delete(fixed.vertices, 2, 0), np.delete(xyz, 2, 0))
    # real geometry stays: a right angle, a U-turn whose limbs are 2 µm apart (not folded onto
    # each other) and a soma node whose neighbours crowd together
    turn = np.array([[0, 0, 0], [5, 0, 0], [5, 5, 0]]) * 1e3
    u_turn = np.array([[0, 0, 0], [5, 0, 0], [6, 1, 0], [5, 2, 0], [0, 2, 0]]) * 1e3
    for pts in (turn, u_turn):
        sk = Skeleton(pts, np.r_[-1, np.arange(len(pts) - 1)], np.full(len(pts), 200.0))
        assert straighten_spikes(sk) is sk
    soma = Skeleton(np.array([[0, 0, 0], [5, 0, 0], [5, 0.5, 0]]) * 1e3, np.array([1, -1, 1]), np.full(3, 200.0),
                    soma_nodes=np.array([1]))
    assert straighten_spikes(soma) is soma
    with pytest.raises(ng.InputError):
        straighten_spikes(soma, ratio=0.0)


def _unlabelled(skeleton: Skeleton) -> Skeleton:
    """The skeleton with its compartment types cleared (somata keep theirs), so that features
    ask the labeller."""
    types = np.where(np.isin(np.arange(skeleton.n_nodes), skeleton.soma_nodes), skeleton.node_type, 0)
    return Skeleton(skeleton.vertices, skeleton.parent, skeleton.radius, None, skeleton.soma_nodes, types)


@pytest.mark.parametrize("seed", [0, 3])
def test_soma_less_insect_neuron_keeps_its_compartment_columns(seed):
    """Without its soma (outside the volume, rooted wherever the file puts it) an insect-like
    neuron is labelled from a point soma at the canonical root, the end of its primary neurite:
    the per-compartment columns are measured, not NaN, and close to those with the soma."""
    from neurograph.synthetic import make_neuron, truth_skeleton

    cell = make_neuron(seed, "unipolar")
    sk = _unlabelled(truth_skeleton(cell))
    with_soma = ng.decompose(sk, [Soma(center=cell.soma_center, radius=cell.soma_radius,
                                       faces=np.empty(0, np.int64))], name="with")
    bare = perturb.drop_soma(with_soma, seed=seed)
    groups = ["cortical", "neurites"]
    a = ng.neuron_features(with_soma, groups=groups).iloc[0]
    b = ng.neuron_features(bare, groups=groups).iloc[0]
    # the dendrite is the AL-like arbor only when the axon was found (the whole cell is ~2x the cable)
    cols = ["dendrite_arbor_cable", "dendrite_arbor_tips", "dendrite_arbor_branch_points"]
    truth = cell.branches.loc[cell.branches["compartment"] == "dendrite", "length"].sum()
    assert abs(a["dendrite_arbor_cable"] / truth - 1) < 0.2
    # the same split; the soma's own radius of cable (its primary neurite starts on it) apart
    assert np.isfinite(b[cols]).all() and np.allclose(a[cols], b[cols], rtol=0.05)
    measured = [c for c in a.index if c.startswith("dendrite_arbor_") and np.isfinite(a[c])]
    assert len(measured) > 30 and np.isfinite(b[measured]).mean() > 0.95


def test_soma_less_fragment_of_a_multipolar_cell_gets_no_compartments():
    """A soma-less piece whose one end says nothing about what it is (no two arbors joined by a
    tract, no synapses) keeps its per-compartment columns NaN rather than a guess."""
    from neurograph.synthetic import make_neuron, truth_skeleton

    cell = make_neuron(0, "fragment")
    bare = ng.decompose(_unlabelled(truth_skeleton(cell)), [], name="fragment")
    b = ng.neuron_features(bare, groups=["neurites"]).iloc[0]
    assert b[[c for c in b.index if c.startswith(("axon_arbor_", "dendrite_arbor_"))]].isna().all()


def test_stand_in_soma_labels_are_kept_per_tree_and_only_on_the_canonical_form():
    """A soma-less neuron of two trees, an insect-like cell and a fragment of dendrite far from
    it: on the canonical form the cell's tree is labelled (axon found by the insect rule) and the
    fragment's is not; the neuron as given (its root wherever the file put it) keeps no labels."""
    from neurograph.features.context import NeuronContext
    from neurograph.features.cortical import _labels
    from neurograph.synthetic import make_neuron, truth_skeleton

    cell = _unlabelled(truth_skeleton(make_neuron(0, "unipolar")))
    frag = _unlabelled(truth_skeleton(make_neuron(0, "fragment")))
    keep = np.arange(cell.n_nodes) != cell.soma_nodes[0]  # the cell without its soma node
    new = np.cumsum(keep) - 1
    par = cell.parent[keep]
    par = np.where((par >= 0) & keep[np.maximum(par, 0)], new[np.maximum(par, 0)], -1)
    n_cell = int(keep.sum())
    shift = cell.vertices.mean(axis=0) - frag.vertices.mean(axis=0) + 1e6  # the fragment 1.7 mm away
    xyz = np.vstack([cell.vertices[keep], frag.vertices + shift])
    parent = np.r_[par, np.where(frag.parent >= 0, frag.parent + n_cell, -1)]
    both = ng.decompose(Skeleton(xyz, parent, np.r_[cell.radius[keep], frag.radius]), [], name="two")
    form = ng.canonical(both)
    codes, _ = _labels(NeuronContext(form, canonical=True))
    v = form.skeleton.vertices
    near = np.linalg.norm(v - (frag.vertices + shift).mean(axis=0), axis=1) < np.linalg.norm(v - cell.vertices.mean(axis=0), axis=1)
    assert (codes[~near] == 2).any() and (codes[~near] == 3).any()  # the cell: axon and dendrite
    assert (codes[near] == 0).all()  # the fragment: no guess
    raw_codes, _ = _labels(NeuronContext(both))
    assert (raw_codes == 0).all()


@pytest.mark.parametrize("n_nodes", [1, 2, 3])
def test_tiny_soma_less_neurons_have_feature_rows(n_nodes):
    xyz = np.arange(n_nodes)[:, None] * np.array([1000.0, 0.0, 0.0])
    tiny = ng.decompose(Skeleton(xyz, np.r_[-1, np.arange(n_nodes - 1)], np.full(n_nodes, 100.0)), [], name="tiny")
    row = ng.neuron_features(tiny).iloc[0]
    assert row[[c for c in row.index if c.startswith("dendrite_arbor_")]].isna().all()


def test_estimate_scale_measures_the_tissue_factor(trees):
    """Features of the same neurons 1.25x larger give an estimate of ~1.25 (and exactly 1 against
    themselves); a table without length columns is refused; few neurons are warned about."""
    from neurograph import classify
    from neurograph.errors import DataWarning, InputError

    groups = ["morphology", "branches", "sholl", "arbors"]
    clean = ng.neuron_features(trees, groups=groups)
    large = ng.neuron_features([perturb.scale(t, 1.25) for t in trees], groups=groups)
    assert abs(classify.estimate_scale(large, clean) / 1.25 - 1) < 0.02  # matched by shape (default)
    with pytest.warns(DataWarning, match="mix of cell types"):  # whole-table medians
        assert classify.estimate_scale(clean, clean, neighbours=None) == 1.0
        assert abs(classify.estimate_scale(large, clean, neighbours=None) / 1.25 - 1) < 0.02
        assert abs(classify.estimate_scale(clean, large, neighbours=None) * 1.25 - 1) < 0.02
        # not a single column's ratio: total length alone reads 1.285 here
        assert abs(classify.estimate_scale(large, clean, neighbours=None)
                   - large.total_length.median() / clean.total_length.median()) > 0.01
        broken = large.copy()
        broken.iloc[0] = np.inf  # a row of inf and NaN values is no length
        broken.iloc[1] = np.nan
        assert abs(classify.estimate_scale(broken, clean, min_positive=0.7, neighbours=None) / 1.25 - 1) < 0.05
    assert abs(classify.estimate_scale(broken, clean, min_positive=0.7) / 1.25 - 1) < 0.05
    with pytest.raises(InputError, match="length columns"):
        classify.estimate_scale(clean[["n_tips"]], clean[["n_tips"]])
    with pytest.raises(InputError, match="DataFrames"):
        classify.estimate_scale(clean.to_numpy(), clean)
    with pytest.raises(InputError, match="min_positive"):
        classify.estimate_scale(large, clean, min_positive=float("nan"))


def test_estimate_scale_matches_neurons_by_shape():
    """Small bushy cells of one type, 1.25x larger, against a reference of that type and a large
    sparse one: matched by shape the estimate is ~1.25; whole-table medians mistake the type for
    the tissue (the new table's type is smaller than the reference's mix)."""
    from neurograph import classify
    from neurograph.errors import DataWarning, InputError

    groups = ["morphology", "branches", "sholl", "arbors"]
    bushy, sparse = dict(depth=4, seg_um=25, spread=1.0), dict(depth=2, seg_um=60, spread=0.4)
    reference = ng.neuron_features([random_tree(s, bushy) for s in range(12)]
                                   + [random_tree(s, sparse) for s in range(12, 24)], groups=groups)
    new = ng.neuron_features([perturb.scale(random_tree(s, bushy), 1.25) for s in range(100, 112)], groups=groups)
    assert abs(classify.estimate_scale(new, reference) / 1.25 - 1) < 0.05
    with pytest.warns(DataWarning, match="mix of cell types"):
        assert classify.estimate_scale(new, reference, neighbours=None) / 1.25 < 0.85  # 0.99 here
    with pytest.warns(DataWarning, match="several neurons"):
        assert abs(classify.estimate_scale(new.iloc[:3], reference) / 1.25 - 1) < 0.1
    with pytest.raises(InputError, match="neighbours"):
        classify.estimate_scale(new, reference, neighbours=0)
    shapeless = [c for c in new.columns if not ng.feature_table()["scale_free"].get(c, False)]
    with pytest.raises(InputError, match="scale-free columns"):
        classify.estimate_scale(new[shapeless], reference[shapeless])


def test_stand_in_soma_follows_the_dataset_profile():
    """A soma-less piece from a vertebrate dataset (profile ``microns``) is an orphan fragment and
    gets no compartment labels even with an insect-like tract; from a fly dataset it does."""
    from neurograph.features.context import NeuronContext
    from neurograph.features.cortical import _labels
    from neurograph.synthetic import make_neuron, truth_skeleton

    cell = make_neuron(0, "unipolar")
    with_soma = ng.decompose(_unlabelled(truth_skeleton(cell)),
                             [Soma(center=cell.soma_center, radius=cell.soma_radius, faces=np.empty(0, np.int64))], name="c")
    bare = perturb.drop_soma(with_soma, seed=0)
    for dataset, labelled in (("hemibrain", True), ("microns", False), (None, True)):
        bare.settings = {"dataset": dataset}
        form = ng.canonical(bare)
        assert form.settings["dataset"] == dataset
        codes, _ = _labels(NeuronContext(form, canonical=True))
        assert (codes == 2).any() == labelled, dataset
