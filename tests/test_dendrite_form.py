"""Dendrite form in the cell's own frame (``neurograph.features.dendrite_form``, issue #17): exact values
on hand-built cells whose stems, forks, tuft, calibre and axon origin are known; invariance to rotation
and mirroring; NaN where a compartment is missing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurograph as ng
from neurograph import perturb
from neurograph.features import feature_table
from neurograph.features.vector import feature_row
from tests.test_cortical import (AXON_TYPE, BASAL_TYPE, SOMA_UM, TUFT_DEG, Builder, pyramid)

FEATURES = ["dendrite_field", "dendrite_stem_balance", "dendrite_bifurcations", "dendrite_branching_profile",
            "apical_branching", "apical_calibre", "initial_axon_origin", "initial_axon_direction"]
VERTICAL_UM, HORIZONTAL_UM = 200.0, 50.0


def rows(neurons) -> pd.DataFrame:
    neurons = neurons if isinstance(neurons, list) else [neurons]
    return pd.DataFrame([feature_row(n, features=FEATURES) for n in neurons], index=[n.name for n in neurons])


def bitufted(axon_from_dendrite_um: float = 0.0) -> ng.Neuron:
    """Two 200 µm dendrites up and down z, four 50 µm horizontal ones (±x, ±y), and an axon of 600 µm
    leaving along -z from the soma or from the upward dendrite ``axon_from_dendrite_um`` µm out."""
    b = Builder()
    first = len(b.pts)
    up = b.line(0, (0, 0, 1), VERTICAL_UM, BASAL_TYPE, 600)
    b.line(0, (0, 0, -1), VERTICAL_UM, BASAL_TYPE, 600)
    for d in ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0)):
        b.line(0, d, HORIZONTAL_UM, BASAL_TYPE, 600)
    start = b.node_at(first, up, axon_from_dendrite_um) if axon_from_dendrite_um else 0
    b.line(start, (1, 0, 0) if axon_from_dendrite_um else (0.3, 0, -1), 600.0, AXON_TYPE, 300)
    return b.neuron("bitufted")


def fork(stem_um: float = 40.0, branch_um: float = 80.0, half_angle_deg: float = 30.0) -> ng.Neuron:
    """One dendrite along z forking after ``stem_um`` into two straight branches at ±``half_angle_deg``."""
    b = Builder()
    top = b.line(0, (0, 0, 1), stem_um, BASAL_TYPE, 600)
    a = np.radians(half_angle_deg)
    for s in (-1, 1):
        b.line(top, (s * np.sin(a), 0, np.cos(a)), branch_um, BASAL_TYPE, 600)
    return b.neuron("fork")


def test_registered_in_the_opt_in_dendrite_form_group_with_units():
    from neurograph.features.registry import ALL_GROUPS, DEFAULT_GROUPS

    assert "dendrite_form" in ALL_GROUPS and "dendrite_form" not in DEFAULT_GROUPS
    assert not feature_table(DEFAULT_GROUPS)["feature"].isin(FEATURES).any()
    table = feature_table(["dendrite_form"])
    mine = table[table["feature"].isin(FEATURES)]
    assert len(mine) == 22 == len(table)
    assert (mine.loc[["dendrite_bif_angle_local", "dendrite_bif_angle_remote"], "unit"] == "deg").all()
    assert mine.loc["dendrite_branching_0_50um", "unit"] == "1/mm"
    assert mine.loc["initial_axon_origin_path", "unit"] == "µm"
    assert (mine["group"] == "dendrite_form").all()
    assert mine.loc["trunk_basal_radius_ratio", "form"] == "raw"   # radii are tied to the raw nodes


def test_bitufted_field_and_stem_balance():
    r = rows(bitufted()).iloc[0]
    total = 2 * VERTICAL_UM + 4 * HORIZONTAL_UM
    assert r["dendrite_centroid_offset"] == pytest.approx(0.0, abs=1e-3)     # symmetric about the soma
    assert r["dendrite_height_asymmetry"] == pytest.approx(0.0, abs=1e-3)
    # rms height: the vertical dendrites run from 8 to 208 µm on either side; rms distance from the
    # axis: the horizontal ones run from 8 to 58 µm, the vertical ones lie on the axis
    h2 = 2 * VERTICAL_UM * ((SOMA_UM + VERTICAL_UM) ** 3 - SOMA_UM ** 3) / (3 * VERTICAL_UM)
    lat2 = 4 * HORIZONTAL_UM * ((SOMA_UM + HORIZONTAL_UM) ** 3 - SOMA_UM ** 3) / (3 * HORIZONTAL_UM)
    assert r["dendrite_aspect"] == pytest.approx(np.sqrt(h2 / lat2), rel=1e-3)
    assert r["stem_axial_order"] == pytest.approx((2 * 1.0 + 4 * -0.5) / 6, abs=1e-6)
    shares = np.array([VERTICAL_UM] * 2 + [HORIZONTAL_UM] * 4) / total
    assert r["stem_share_max"] == pytest.approx(1 / 3, rel=1e-3)
    assert r["major_stems"] == 2                                              # 50 / 600 < 10 %
    assert r["stem_share_entropy"] == pytest.approx(-(shares * np.log(shares)).sum() / np.log(6), rel=1e-3)
    # the axon leaves the soma along (0.3, 0, -1): the axis is z, the dendrites' centroid is the soma
    assert r["initial_axon_origin_path"] == 0.0
    assert r["initial_axon_alignment"] == pytest.approx(1 / np.sqrt(1.09), rel=1e-3)
    assert np.isnan(r["initial_axon_vs_dendrites"])   # no direction from the soma to a centred field


def test_axon_leaving_a_dendrite():
    r = rows(bitufted(axon_from_dendrite_um=20.0)).iloc[0]
    assert r["initial_axon_origin_path"] == pytest.approx(20.0, abs=0.6)
    assert r["initial_axon_alignment"] == pytest.approx(0.0, abs=1e-6)       # horizontal, across the axis


def test_fork_angles_and_branching_profile():
    r = rows(fork()).iloc[0]
    assert r["dendrite_bif_angle_local"] == pytest.approx(60.0, abs=0.5)
    assert r["dendrite_bif_angle_remote"] == pytest.approx(60.0, abs=0.5)
    # one branch point at 40 µm of path; 40 + 2 x 10 µm of cable within 50 µm, 2 x 70 µm in 50-150 µm
    assert r["dendrite_branching_0_50um"] == pytest.approx(1 / 0.060, rel=0.02)
    assert r["dendrite_branching_50_150um"] == 0.0
    assert np.isnan(r["dendrite_branching_150um_plus"])                      # no cable there
    wide = rows(fork(half_angle_deg=50.0)).iloc[0]
    assert wide["dendrite_bif_angle_local"] == pytest.approx(100.0, abs=0.5)


def test_pyramid_tuft_obliques_basal_and_calibre():
    r = rows(pyramid()).iloc[0]
    # centroid: the pieces' lengths x their middles (all on the z axis or symmetric about it) over the
    # cable's mean distance from the soma centre
    z = np.array([158.0, 308 + 60 * np.cos(np.radians(TUFT_DEG)), 108.0, 208.0, -68 / np.sqrt(2)])
    cable = np.array([300.0, 240.0, 60.0, 60.0, 600.0])
    tuft_r = np.mean(np.linalg.norm(np.array([[np.sin(np.radians(TUFT_DEG)), np.cos(np.radians(TUFT_DEG))]])
                                    * np.linspace(0, 120, 120001)[:, None] + [0, 308], axis=1))
    oblique_r = [np.mean(np.hypot(np.linspace(0, 60, 60001), h)) for h in (108.0, 208.0)]
    mean_r = (300 * 158 + 240 * tuft_r + 60 * sum(oblique_r) + 600 * 68) / cable.sum()
    assert r["dendrite_centroid_offset"] == pytest.approx(abs(cable @ z) / cable.sum() / mean_r, rel=2e-3)
    assert (r["tuft_tips"], r["tuft_branch_points"], r["oblique_tips"]) == (2, 0, 2)
    assert (r["basal_stems"], r["basal_tips"]) == (5, 5)
    assert r["trunk_basal_radius_ratio"] == pytest.approx(1500 / 800)        # trunk 1.5 µm, basal 0.8 µm
    assert r["trunk_soma_radius_ratio"] == pytest.approx(1500 / (SOMA_UM * 1e3))
    assert r["initial_axon_origin_path"] == 0.0
    # the axon leaves straight down, opposite the apical axis and the dendrites' centroid (above the soma)
    assert r["initial_axon_alignment"] == pytest.approx(1 / np.sqrt(1.0025), rel=1e-4)
    assert r["initial_axon_vs_dendrites"] == pytest.approx(-1 / np.sqrt(1.0025), rel=1e-3)
    apical = 300 + 2 * 120 + 2 * 60
    # cable x height of each straight piece: its length x the height of its middle (soma radius 8 µm)
    moments = np.array([300 * 158, 240 * (308 + 60 * np.cos(np.radians(TUFT_DEG))), 60 * 108, 60 * 208,
                        -600 * 68 / np.sqrt(2)])
    assert r["dendrite_height_asymmetry"] == pytest.approx(abs(moments.sum()) / np.abs(moments).sum(), rel=1e-3)
    assert r["stem_share_max"] == pytest.approx(apical / (apical + 5 * 120), rel=1e-3)


def test_invariant_to_rotation_and_mirroring():
    cells = [pyramid(), bitufted(), fork()]
    ref = rows(cells)
    for s in range(2):
        moved = rows([perturb.rotate_mirror(c, seed=s) for c in cells])
        np.testing.assert_allclose(moved.to_numpy(float), ref.to_numpy(float), rtol=1e-6, atol=1e-9)


def test_missing_compartments_give_nan():
    b = Builder()
    b.line(0, (0, 0, -1), 800.0, AXON_TYPE, 300)            # an axon and no dendrite
    no_dendrite = b.neuron("axon_only")
    no_axon = pyramid(axon_um=0.0)
    r = rows([no_dendrite, fork(), no_axon])
    assert r.loc["axon_only"].isna().all()
    assert r.loc["fork", ["trunk_basal_radius_ratio", "trunk_soma_radius_ratio"]].isna().all()   # no apical
    assert r.loc["fork", ["tuft_tips", "oblique_tips", "initial_axon_origin_path"]].tolist()[:2] == [0, 0]
    assert np.isnan(r.loc["fork", "initial_axon_origin_path"])                 # no axon at all
