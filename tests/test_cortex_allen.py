"""Cortical features on a small fixed subset of the Allen Cell Types reconstructions (issue #17):
catches regressions of benchmarks/cortex.py in ~30 s. Skips without ../shared/data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import neurograph as ng
from neurograph import classify
from neurograph.features.context import NeuronContext
from neurograph.features.cortical import frame

from .conftest import SHARED

ALLEN = SHARED / "allen_celltypes_509"
PER_LAYER = 8     # spiny cells with an intact apical per layer (2/3, 4, 5), first by specimen id
PER_KIND = 12     # aspiny cells: full and dendrite-only reconstructions


@pytest.fixture(scope="module")
def allen():
    if not (ALLEN / "labels.csv").exists():
        pytest.skip("Allen Cell Types data not present (../shared/data/allen_celltypes_509)")
    lab = pd.read_csv(ALLEN / "labels.csv", dtype={"specimen_id": str, "layer": str}).sort_values("specimen_id")
    spiny = lab[(lab["dendrite_type"] == "spiny") & (lab["apical"] == "intact") & lab["layer"].isin(["2/3", "4", "5"])]
    aspiny = lab[lab["dendrite_type"] == "aspiny"]
    picked = pd.concat([spiny.groupby("layer").head(PER_LAYER),
                        aspiny.groupby("reconstruction_type").head(PER_KIND)]).set_index("specimen_id")
    neurons = [ng.load_swc(ALLEN / "swc" / f"{sid}.swc", units="um") for sid in picked.index]
    table = ng.neuron_features(neurons, groups=["cortical", "dendrite_form"])
    table.index = table.index.astype(str)
    return picked, neurons, table


def test_compartments_from_the_files_and_nan_axon_for_dendrite_only(allen):
    lab, neurons, table = allen
    assert all(frame(NeuronContext(n)).source == 1.0 for n in neurons[:5])
    axon = [c for c in table.columns if c.startswith("axon_")]
    dendrite_only = lab.index[lab["reconstruction_type"] == "dendrite-only"]
    full = lab.index[(lab["reconstruction_type"] == "full")]
    assert table.loc[dendrite_only, axon].isna().all().all()
    split = table.loc[full, ["axon_below_dendrites", "axon_within_dendrites", "axon_above_dendrites"]]
    assert split.notna().all().all() and np.allclose(split.sum(axis=1), 1.0)
    assert table.drop(columns=axon).loc[:, ["apical_fraction", "dendrite_height_q95", "dendrite_lateral_q95"]] \
        .notna().all().all()


def test_apical_axis_found_from_the_neuron_matches_the_upright_files(allen):
    """The files are drawn roughly pia-up (y); the axis is computed without y and must agree."""
    lab, neurons, _ = allen
    spiny = set(lab.index[lab["dendrite_type"] == "spiny"])
    cos = np.array([abs(frame(NeuronContext(n)).axis[1]) for n in neurons if n.name in spiny])
    assert len(cos) == 3 * PER_LAYER and np.median(cos) > 0.7     # measured on 60 cells: 0.84


def test_apical_reach_orders_the_layers_and_spiny_vs_aspiny_is_separated(allen):
    lab, _, table = allen
    spiny = lab["dendrite_type"] == "spiny"
    height = table.loc[lab.index[spiny], "apical_height"].groupby(lab.loc[spiny, "layer"]).median()
    assert height["2/3"] < height["4"] < height["5"]          # all 234 spiny: 278 < 416 < 570 µm
    assert (table.loc[lab.index[~spiny], "apical_dendrite_cable"] == 0).all()
    res = classify.cross_validate(table, lab["dendrite_type"], n_splits=4, n_estimators=100)
    assert res.balanced_accuracy >= 0.95
    # apical reach ranks the layers: P(height of a deeper-layer cell > that of a shallower one);
    # on all spiny cells with an intact apical 0.91 (2/3 < 4), 0.89 (4 < 5), 0.96 (2/3 < 5)
    h = table.loc[lab.index[spiny], "apical_height"].to_numpy()
    layer = lab.loc[spiny, "layer"].to_numpy()
    for upper, lower, least in (("2/3", "4", 0.7), ("4", "5", 0.7), ("2/3", "5", 0.9)):
        assert (h[layer == upper][:, None] < h[layer == lower][None, :]).mean() >= least, (upper, lower)


def test_dendrite_form_on_real_cells(allen):
    """What holds for pyramidal cells anywhere: the axon leaves the soma's basal side, opposite the
    dendrites' centroid (on all 234 spiny cells 94 %), and the apical trunk is thicker than the
    proximal basal dendrites (82 % of the 210 with an apical trunk); the start of the axon is kept by
    dendrite-only reconstructions; the primary basal dendrites are those of the file's SWC types."""
    lab, neurons, table = allen
    spiny = lab.index[lab["dendrite_type"] == "spiny"]
    assert (table.loc[spiny, "initial_axon_vs_dendrites"] < 0).mean() >= 0.8
    assert (table.loc[spiny, "trunk_basal_radius_ratio"].dropna() > 1).mean() >= 0.7
    dendrite_only = lab.index[lab["reconstruction_type"] == "dendrite-only"]
    assert table.loc[dendrite_only, "initial_axon_alignment"].notna().mean() >= 0.8
    for n in neurons[:6]:
        sk = n.skeleton
        basal = np.asarray(sk.node_type) == 3
        soma = np.isin(sk.parent, sk.soma_nodes)
        assert table.loc[n.name, "basal_stems"] == (basal & soma).sum(), n.name
    assert table.loc[spiny, "dendrite_height_asymmetry"].between(0, 1).all()
