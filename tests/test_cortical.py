"""Cortical features (issue #17) on hand-built pyramidal and interneuron skeletons whose trunk, tuft,
obliques, dendrites and axon are known exactly; invariance to rotation, mirroring, node spacing and
twigs; NaN for a missing axon; compartments from the labeller when the file has none."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurograph as ng
from neurograph import perturb
from neurograph.features import feature_table
from neurograph.features.context import NeuronContext
from neurograph.features.cortical import MIN_AXON_UM, PROFILE_BINS, frame
from neurograph.mesh.soma import Soma
from neurograph.skeleton import Skeleton

SOMA_UM = 8.0
TRUNK_UM, TUFT_UM, TUFT_DEG = 300.0, 120.0, 35.0
OBLIQUE_UM, BASAL_UM = 60.0, 120.0
AXON_TYPE, BASAL_TYPE, APICAL_TYPE = 2, 3, 4


class Builder:
    """Straight neurites from a soma at the origin, nodes every 0.5 µm (nm, SWC types, radii)."""

    def __init__(self) -> None:
        self.pts, self.par, self.typ, self.rad = [np.zeros(3)], [-1], [1], [SOMA_UM * 1e3]

    def line(self, start: int, direction, length_um: float, kind: int, radius_nm: float) -> int:
        d = np.asarray(direction, float)
        d /= np.linalg.norm(d)
        origin = self.pts[start] if start else d * SOMA_UM * 1e3  # stems start on the soma surface
        n = int(round(length_um / 0.5))
        for k in range(1, n + 1):
            self.pts.append(origin + d * length_um * 1e3 * k / n)
            self.par.append(start if k == 1 else len(self.pts) - 2)
            self.typ.append(kind)
            self.rad.append(radius_nm)
        return len(self.pts) - 1

    def node_at(self, first: int, last: int, along_um: float) -> int:
        """The node ``along_um`` µm after ``first`` on a line ending at ``last``."""
        return min(first + int(round(along_um / 0.5)) - 1, last)

    def neuron(self, name: str = "cell", types: bool = True) -> ng.Neuron:
        v = np.asarray(self.pts)
        sk = Skeleton(v, np.asarray(self.par), np.asarray(self.rad, float), None, np.array([0]),
                      np.asarray(self.typ, np.int8) if types else None)
        return ng.decompose(sk, [Soma(center=v[0], radius=SOMA_UM * 1e3, faces=np.empty(0, np.int64))], name=name)


def pyramid(axon_um: float = 600.0, types: bool = True) -> ng.Neuron:
    """Apical trunk up z (300 µm from the soma surface), a two-branch tuft (2 x 120 µm at ±35°), two
    horizontal obliques (60 µm at 100 and 200 µm), five descending basal dendrites (120 µm) and an
    axon: ``axon_um`` straight down plus a 300 µm horizontal collateral 100 µm below the soma."""
    b = Builder()
    first = len(b.pts)
    top = b.line(0, (0, 0, 1), TRUNK_UM, APICAL_TYPE, 1500)
    for s in (-1, 1):
        ang = np.radians(TUFT_DEG)
        b.line(top, (s * np.sin(ang), 0, np.cos(ang)), TUFT_UM, APICAL_TYPE, 700)
    for at, side in ((100.0, 1), (200.0, -1)):
        b.line(b.node_at(first, top, at), (0, side, 0), OBLIQUE_UM, APICAL_TYPE, 600)
    for k in range(5):
        a = 2 * np.pi * k / 5
        b.line(0, (np.cos(a), np.sin(a), -1.0), BASAL_UM, BASAL_TYPE, 800)
    first = len(b.pts)
    end = b.line(0, (0.05, 0, -1), axon_um, AXON_TYPE, 400)
    if axon_um > 150:
        b.line(b.node_at(first, end, 100.0), (1, 0.2, 0), 300.0, AXON_TYPE, 300)
    return b.neuron("pyramid", types)


def interneuron(ascending: bool = True) -> ng.Neuron:
    """Bipolar dendrites along z (2 x 150 µm up, 1 x 150 µm down) and an axon that climbs 500 µm
    (``ascending``) or descends 500 µm, with three 150 µm horizontal collaterals."""
    b = Builder()
    for d in ((0.2, 0, 1), (-0.2, 0, 1), (0, 0.1, -1)):
        b.line(0, d, 150.0, BASAL_TYPE, 600)
    sign = 1.0 if ascending else -1.0
    first = len(b.pts)
    end = b.line(0, (0.1, 0.1, sign), 500.0, AXON_TYPE, 300)
    for at in (150.0, 300.0, 450.0):
        b.line(b.node_at(first, end, at), (np.cos(at), np.sin(at), 0), 150.0, AXON_TYPE, 300)
    return b.neuron("interneuron")


def cortical(neurons) -> pd.DataFrame:
    return ng.neuron_features(neurons, groups=["cortical"])


@pytest.fixture(scope="module")
def pyr() -> pd.Series:
    return cortical(pyramid()).iloc[0]


def test_registered_with_units_and_in_the_default_groups():
    table = feature_table(["cortical"])
    # shape on the canonical form; a feature that needs radii (tied to the raw nodes) on the raw form
    assert len(table) >= 40 and ((table["form"] == "canonical") | table["requires"].str.contains("radii")).all()
    assert table.loc["apical_height", "unit"] == "µm" and table.loc["axon_below_dendrites", "unit"] == ""
    assert "cortical" in ng.features.registry.DEFAULT_GROUPS


def test_pyramid_trunk_tuft_obliques_match_the_construction(pyr):
    apical = TRUNK_UM + 2 * TUFT_UM + 2 * OBLIQUE_UM
    assert pyr["apical_dendrite_cable"] == pytest.approx(apical, rel=0.01)
    assert pyr["basal_dendrite_cable"] == pytest.approx(5 * BASAL_UM, rel=0.01)
    assert pyr["apical_fraction"] == pytest.approx(apical / (apical + 5 * BASAL_UM), rel=0.01)
    assert pyr["trunk_path"] == pytest.approx(TRUNK_UM, rel=0.01)
    assert pyr["bifurcation_height"] == pytest.approx(SOMA_UM + TRUNK_UM, rel=0.01)
    assert pyr["tuft_cable"] == pytest.approx(2 * TUFT_UM, rel=0.01)
    assert pyr["tuft_fraction"] == pytest.approx(2 * TUFT_UM / apical, rel=0.01)
    tip = SOMA_UM + TRUNK_UM + TUFT_UM * np.cos(np.radians(TUFT_DEG))
    assert pyr["apical_height"] == pytest.approx(tip, rel=0.01)
    assert pyr["apical_path_max"] == pytest.approx(TRUNK_UM + TUFT_UM, rel=0.01)
    # two straight branches at ±35°: rms distance across the axis = 120/sqrt(3) * sin 35°
    assert pyr["tuft_width"] == pytest.approx(2 * TUFT_UM / np.sqrt(3) * np.sin(np.radians(TUFT_DEG)), rel=0.02)
    assert pyr["tuft_span"] == pytest.approx(0.9 * TUFT_UM * np.cos(np.radians(TUFT_DEG)), rel=0.03)
    assert pyr["n_obliques"] == 2
    assert pyr["oblique_fraction"] == pytest.approx(2 * OBLIQUE_UM / apical, rel=0.01)


def test_pyramid_axon_and_profiles(pyr):
    # 600 µm straight down (under the basal dendrites' ~ -85 µm floor from ~ -90 µm on) and a
    # 300 µm collateral 100 µm below the soma: every part of the axon is below the dendrites' span
    assert pyr["axon_below_dendrites"] > 0.75 and pyr["axon_above_dendrites"] == 0.0
    assert pyr[["axon_below_dendrites", "axon_within_dendrites", "axon_above_dendrites"]].sum() == pytest.approx(1)
    assert pyr["axon_above_soma"] == 0.0
    assert pyr["axon_dendrite_ratio_all"] == pytest.approx(900 / (TRUNK_UM + 2 * TUFT_UM + 2 * OBLIQUE_UM
                                                                  + 5 * BASAL_UM), rel=0.02)
    assert pyr["axon_height_q05"] < -500 and pyr["axon_height_q95"] < -8
    assert pyr["axon_axis_alignment"] > 0.9   # the long descending shaft dominates the axon's shape
    prof = pyr[[f"dendrite_profile_{b}" for b in PROFILE_BINS]].to_numpy(float)
    aprof = pyr[[f"axon_profile_{b}" for b in PROFILE_BINS]].to_numpy(float)
    assert prof.sum() == pytest.approx(1) and aprof.sum() == pytest.approx(1)
    assert prof[PROFILE_BINS.index("300_400um")] > 0.15         # the tuft
    assert aprof[: PROFILE_BINS.index("m100_0um") + 1].sum() == pytest.approx(1)


def test_invariant_to_rotation_mirroring_spacing_twigs_and_healed_fragments():
    cell = pyramid()
    ref = cortical(cell).iloc[0]
    moved = cortical([perturb.rotate_mirror(cell, seed=s) for s in range(3)])
    units = feature_table(["cortical"])["unit"].reindex(ref.index)
    for unit, atol in (("", 1e-9), ("µm", 1.0)):  # quantiles of 1 µm canonical segments move by <= 1 µm
        cols = units.index[units == unit]
        np.testing.assert_allclose(moved[cols].to_numpy(float), np.tile(ref[cols].to_numpy(float), (3, 1)),
                                   rtol=1e-6, atol=atol)
    spaced = cortical([perturb.resample_spacing(cell, f, seed=1) for f in (0.5, 3.0)])
    twigs = cortical(perturb.add_twigs(cell, seed=2))
    healed = cortical(ng.heal(perturb.fragment(cell, n_pieces=4, seed=3)))   # fragmented, then healed
    for other in (spaced.iloc[0], spaced.iloc[1], twigs.iloc[0], healed.iloc[0]):
        for col in ("apical_dendrite_cable", "tuft_cable", "trunk_path", "apical_height", "tuft_width",
                    "axon_below_dendrites", "dendrite_height_q95", "axon_lateral_q95"):
            assert other[col] == pytest.approx(ref[col], rel=0.03, abs=1.0), col
        assert other["n_obliques"] == ref["n_obliques"]


def test_dendrite_only_reconstruction_has_nan_axon_features():
    row = cortical(pyramid(axon_um=40.0)).iloc[0]    # an axon stub, as dendrite-only reconstructions keep
    assert 40.0 < MIN_AXON_UM
    axon_cols = [c for c in row.index if c.startswith("axon_")]
    assert len(axon_cols) >= 20 and row[axon_cols].isna().all()
    rest = row.drop(axon_cols)
    assert rest.notna().all(), rest[rest.isna()]
    assert row["tuft_cable"] == pytest.approx(2 * TUFT_UM, rel=0.01)


def test_interneuron_axis_points_to_its_axon_whatever_the_orientation():
    up, down = interneuron(True), interneuron(False)
    rows = cortical([perturb.rotate_mirror(c, seed=s) for c in (up, down) for s in range(2)])
    assert (rows["apical_dendrite_cable"] == 0).all() and (rows["apical_height"] == 0).all()
    assert rows["tuft_cable"].eq(0).all() and rows["trunk_path"].isna().all()
    # the axis is the dendrites' long axis, pointing to the axon's side: ascending and descending axons
    # both lie above the soma in the neuron's own frame, and mostly beyond the dendrites
    assert (rows["axon_above_soma"] > 0.9).all()
    assert (rows["axon_above_dendrites"] > 0.3).all() and (rows["axon_axis_alignment"] > 0.8).all()


def test_compartments_from_the_labeller_without_swc_types():
    unlabelled = pyramid(types=False)
    assert frame(NeuronContext(unlabelled)).source == 0.0 and frame(NeuronContext(pyramid())).source == 1.0
    row = cortical(unlabelled).iloc[0]
    labelled = cortical(pyramid()).iloc[0]
    # the geometry-only labeller finds the thick apical dendrite of this cell
    assert row["apical_dendrite_cable"] == pytest.approx(labelled["apical_dendrite_cable"], rel=0.1)


def test_degenerate_neurons_give_nan_not_errors():
    b = Builder()
    b.line(0, (1, 0, 0), 10.0, BASAL_TYPE, 500)
    small = b.neuron("stub")
    lone = Builder().neuron("lone")
    a = Builder()
    a.line(0, (0, 0, -1), 800.0, AXON_TYPE, 300)       # an axon and no dendrite: no axis to measure it on
    rows = cortical([small, lone, a.neuron("axon_only")])
    assert rows.loc["axon_only", [c for c in rows.columns if c.startswith("axon_")]].isna().all()
    assert rows.shape[0] == 3 and np.isfinite(rows.loc["stub", "basal_dendrite_cable"])
    assert rows.loc["lone"].isna().sum() > 30
