"""Per-compartment morphometrics (``neurites`` group, issue #17): counts, branch lengths, orders and
shape of hand-built cells match their construction; the persistence barcode matches a plain
recursive implementation of the elder rule; invariance to rotation, mirroring, spacing and twigs;
NaN for a missing axon."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph as ng
from neurograph import perturb
from neurograph.features import feature_table
from neurograph.features.context import NeuronContext
from neurograph.features.neurites import arbor
from tests.test_cortical import (AXON_TYPE, BASAL_UM, BASAL_TYPE, OBLIQUE_UM, SOMA_UM, TRUNK_UM, TUFT_UM, Builder,
                                 pyramid)


def rows(neurons):
    return ng.neuron_features(neurons, groups=["neurites"])


@pytest.fixture(scope="module")
def pyr():
    return rows(pyramid()).iloc[0]


def test_registered_with_units_in_the_default_groups():
    table = feature_table(["neurites"])
    assert "neurites" in ng.features.registry.DEFAULT_GROUPS
    assert table.index.str.startswith(("dendrite_arbor_", "axon_arbor_")).all()
    assert table.loc["dendrite_arbor_terminal_q50", "unit"] == "µm"
    assert table.loc["axon_arbor_stems", "unit"] == "" and table.loc["dendrite_arbor_radius_distal", "unit"] == "nm"
    assert (table.loc[table["requires"] == "skeleton", "form"] == "canonical").all()


def test_pyramid_counts_and_branch_lengths_match_the_construction(pyr):
    # dendrites: 1 apical (trunk, 2 obliques, 2-branch tuft) + 5 basal stems
    assert pyr["dendrite_arbor_stems"] == 6 and pyr["dendrite_arbor_tips"] == 9
    assert pyr["dendrite_arbor_branch_points"] == 3
    assert pyr["dendrite_arbor_max_order"] == 3 and pyr["dendrite_arbor_mean_tip_order"] == pytest.approx(1.0)
    cable = TRUNK_UM + 2 * TUFT_UM + 2 * OBLIQUE_UM + 5 * BASAL_UM
    assert pyr["dendrite_arbor_cable"] == pytest.approx(cable, rel=0.01)
    # terminal branches: 5 basal + 2 tuft of 120 µm, 2 obliques of 60 µm; the trunk is cut every 100 µm
    assert pyr["dendrite_arbor_terminal_q50"] == pytest.approx(BASAL_UM, rel=0.02)
    assert pyr["dendrite_arbor_internal_q50"] == pytest.approx(100.0, rel=0.02)
    assert pyr["dendrite_arbor_path_max"] == pytest.approx(TRUNK_UM + TUFT_UM, rel=0.01)
    shells = pyr[[c for c in pyr.index if c.startswith("dendrite_arbor_shell_")]]
    assert shells.sum() == pytest.approx(cable, rel=0.01)
    # axon: 600 µm shaft + one 300 µm collateral
    assert pyr["axon_arbor_stems"] == 1 and pyr["axon_arbor_tips"] == 2 and pyr["axon_arbor_branch_points"] == 1
    assert pyr["axon_arbor_cable"] == pytest.approx(900.0, rel=0.01)
    assert pyr["axon_arbor_terminal_q90"] > pyr["axon_arbor_terminal_q50"] > 290.0
    assert pyr["axon_arbor_radius_proximal"] == pytest.approx(400.0) and pyr["dendrite_arbor_radius_distal"] < 1500


def _elder_rule(parent: np.ndarray, inside: np.ndarray, f: np.ndarray) -> list[tuple[float, float]]:
    """The barcode by the textbook recursion (Kanari et al. 2018, algorithm 1), for comparison."""
    kids = {v: [] for v in range(len(parent))}
    for v, p in enumerate(parent):
        if p >= 0 and inside[v] and inside[p]:
            kids[int(p)].append(v)
    bars = []

    def walk(v: int) -> float:  # returns the birth of the bar alive at v
        births = [walk(c) for c in kids[v]]
        if not births:
            return float(f[v])
        keep = int(np.argmax(births))
        bars.extend((b, float(f[v])) for k, b in enumerate(births) if k != keep)
        return births[keep]

    import sys
    sys.setrecursionlimit(100_000)
    for s in np.flatnonzero(inside & ((parent < 0) | ~inside[np.maximum(parent, 0)])):
        bars.append((walk(int(s)), float(f[parent[s]] if parent[s] >= 0 else f[s])))
    return sorted(bars)


@pytest.mark.parametrize("which", ["dendrite", "axon"])
def test_barcode_matches_the_recursive_elder_rule(which):
    cell = ng.canonical(perturb.add_twigs(pyramid(), seed=4))  # twigs >= 10 µm survive: more bars
    ctx = NeuronContext(cell)
    a = arbor(ctx, which)
    for filtration, f in (("radial", ctx.node_radial), ("path", ctx.node_path)):
        ours = sorted(map(tuple, a.barcode(filtration).tolist()))
        ref = _elder_rule(ctx.parent, a.inside, f)
        assert len(ours) == len(ref) == len(a.tips)
        np.testing.assert_allclose(np.array(ours), np.array(ref), rtol=1e-12)


def test_stem_polarity_and_alignment_tell_bipolar_multipolar_and_one_sided_cells():
    def cell(directions, name):
        b = Builder()
        for d in directions:
            b.line(0, d, 100.0, BASAL_TYPE, 500)
        return b.neuron(name)

    star = cell([(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)], "multipolar")
    bipolar = cell([(0, 0, 1), (0, 0, -1)], "bipolar")
    brush = cell([(0.3, 0, 1), (-0.3, 0, 1), (0, 0.3, 1)], "one_sided")
    t = rows([star, bipolar, brush])
    assert t.loc["multipolar", "dendrite_arbor_stem_alignment"] == pytest.approx(1 / 3, abs=1e-6)
    assert t.loc["bipolar", "dendrite_arbor_stem_alignment"] == pytest.approx(1.0, abs=1e-6)
    assert t.loc["multipolar", "dendrite_arbor_stem_polarity"] < 1e-6
    assert t.loc["bipolar", "dendrite_arbor_stem_polarity"] < 1e-6
    assert t.loc["one_sided", "dendrite_arbor_stem_polarity"] > 0.9
    assert t.loc["bipolar", "dendrite_arbor_axial_fraction"] == pytest.approx(1.0)
    assert t.loc["bipolar", "dendrite_arbor_segment_order_main"] == pytest.approx(1.0)
    assert abs(t.loc["multipolar", "dendrite_arbor_segment_order_main"]) < 0.6
    assert t.loc["bipolar", "dendrite_arbor_tortuosity"] == pytest.approx(1.0, abs=0.01)
    assert t.loc["multipolar", "dendrite_arbor_bar_entropy"] == pytest.approx(1.0)  # six equal bars
    assert t.loc["bipolar", "dendrite_arbor_bar_max"] == pytest.approx(SOMA_UM + 100.0, rel=0.01)


def test_invariant_to_rotation_mirroring_spacing_and_twigs():
    cell = pyramid()
    ref = rows(cell).iloc[0]
    moved = rows([perturb.rotate_mirror(cell, seed=s) for s in range(3)])
    units = feature_table(["neurites"])["unit"].reindex(ref.index)
    for unit, atol in (("", 1e-6), ("nm", 1e-6), ("µm", 1.0)):  # quantiles of 1 µm canonical segments: <= 1 µm
        cols = units.index[units == unit]
        np.testing.assert_allclose(moved[cols].to_numpy(float), np.tile(ref[cols].to_numpy(float), (3, 1)),
                                   rtol=1e-6, atol=atol)
    others = rows([perturb.resample_spacing(cell, 0.5, seed=1), perturb.resample_spacing(cell, 3.0, seed=1),
                   perturb.add_twigs(cell, seed=2)])
    for col in ("dendrite_arbor_stems", "dendrite_arbor_tips", "axon_arbor_tips", "dendrite_arbor_max_order"):
        assert (others[col] == ref[col]).all(), col
    for col in ("dendrite_arbor_cable", "dendrite_arbor_terminal_q50", "dendrite_arbor_radial_q95",
                "dendrite_arbor_bar_max", "dendrite_arbor_pbar_q50", "axon_arbor_cable", "dendrite_arbor_stem_alignment"):
        np.testing.assert_allclose(others[col].to_numpy(float), ref[col], rtol=0.03, atol=1.0, err_msg=col)


def test_axon_features_nan_for_a_stub_and_degenerate_cells_do_not_fail():
    row = rows(pyramid(axon_um=40.0)).iloc[0]
    axon = [c for c in row.index if c.startswith("axon_arbor_")]
    assert row[axon].isna().all() and row.drop(axon).notna().all()
    a = Builder()
    a.line(0, (0, 0, -1), 800.0, AXON_TYPE, 300)
    lone = Builder().neuron("lone")
    t = rows([a.neuron("axon_only"), lone])
    assert t.loc["axon_only", "axon_arbor_cable"] == pytest.approx(800.0, rel=0.01)
    assert t.loc["axon_only", [c for c in t.columns if c.startswith("dendrite_arbor_")]].isna().all()
    assert t.loc["lone"].isna().all()


def test_dendrite_features_do_not_depend_on_how_much_axon_was_traced():
    """The point of measuring per compartment: a full and a dendrite-only reconstruction of one cell
    have the same dendrite features (whole-neuron features do not)."""
    from tests.test_cortical import interneuron

    full, stub = rows([pyramid(axon_um=600.0), pyramid(axon_um=40.0)]).to_numpy(float)
    cols = [c.startswith("dendrite_arbor_") for c in rows(pyramid()).columns]
    np.testing.assert_allclose(full[cols], stub[cols], rtol=1e-9)
    whole = ng.neuron_features([pyramid(axon_um=600.0), pyramid(axon_um=40.0)], groups=["morphology"])
    assert whole["total_length"].iloc[0] > 1.5 * whole["total_length"].iloc[1]
    up, down = rows([interneuron(True), interneuron(False)]).to_numpy(float)  # axon up or down
    np.testing.assert_allclose(up[cols], down[cols], rtol=1e-9)


def test_allen_full_reconstructions_keep_their_dendrite_features_without_the_axon():
    """Real cells (skips without ../shared/data): six full Allen reconstructions, their axon cut off
    (as in a dendrite-only reconstruction): the dendrite columns do not move, the axon columns turn
    NaN, and the barcode has one bar per tip and matches the recursive elder rule."""
    import pandas as pd

    from neurograph.skeleton import Skeleton
    from neurograph.skeleton.resample import subset

    from .conftest import SHARED

    allen = SHARED / "allen_celltypes_509"
    if not (allen / "labels.csv").exists():
        pytest.skip("Allen Cell Types data not present (../shared/data/allen_celltypes_509)")
    lab = pd.read_csv(allen / "labels.csv", dtype={"specimen_id": str}).sort_values("specimen_id")
    ids = lab.loc[lab["reconstruction_type"] == "full"].groupby("dendrite_type").head(2)["specimen_id"]
    full, cut = [], []
    for sid in ids:
        neuron = ng.load_swc(allen / "swc" / f"{sid}.swc", units="um")
        sk = neuron.skeleton
        keep = np.asarray(sk.node_type) != AXON_TYPE
        below_axon = np.zeros(len(keep), bool)  # a dendrite hanging below the axon would lose its parent
        for v in sk.topological_order():
            p = sk.parent[v]
            below_axon[v] = p >= 0 and (below_axon[p] or not keep[p])
        keep &= ~below_axon
        stripped = subset(sk, keep)
        cut.append(ng.decompose(Skeleton(stripped.vertices, stripped.parent, stripped.radius, None,
                                         stripped.soma_nodes, stripped.node_type), neuron.somas, None, name=sid))
        full.append(neuron)
    a, b = rows(full), rows(cut)
    # radius columns left out: whether radii count as measured is judged on the whole skeleton
    # (NeuronContext._measured_radii), and the axon can decide it; the canonical form of the dendrites
    # next to a cut-off axon stem moves by a few nm
    dend = [c for c in a.columns if c.startswith("dendrite_arbor_") and "radius" not in c and "taper" not in c]
    np.testing.assert_allclose(b[dend].to_numpy(float), a[dend].to_numpy(float), rtol=1e-3, atol=1e-6)
    assert a["axon_arbor_cable"].gt(500).all() and b[[c for c in b.columns if c.startswith("axon_arbor_")]].isna().all().all()
    ctx = NeuronContext(ng.canonical(full[0]))
    arb = arbor(ctx, "axon")
    bars = sorted(map(tuple, arb.barcode().tolist()))
    assert len(bars) == len(arb.tips) > 20
    np.testing.assert_allclose(np.array(bars), np.array(_elder_rule(ctx.parent, arb.inside, ctx.node_radial)))
