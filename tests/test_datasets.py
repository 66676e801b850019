"""Dataset profiles: the table, extract/load_swc/batch/CLI use, overrides and records."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import neurograph as ng
from neurograph.datasets import PROFILES, get_profile, profiles_markdown, synapse_columns_for

ROOT = Path(__file__).resolve().parents[1]
REQUIRED = ("microns", "h01", "hemibrain", "flywire", "fafb", "manc", "neuromorpho")


def test_table_has_every_dataset_with_its_conventions():
    for name in REQUIRED:
        assert name in PROFILES and PROFILES[name].sources, name
    assert PROFILES["microns"].synapse_voxel_size == (4.0, 4.0, 40.0)
    assert PROFILES["microns"].pia == (0.0, -1.0, 0.0) and PROFILES["microns"].spines
    assert not PROFILES["microns"].swc_radii
    assert PROFILES["hemibrain"].mesh_voxel_size == (8.0, 8.0, 8.0) and not PROFILES["hemibrain"].spines
    assert PROFILES["manc"].swc_units == "voxel" and PROFILES["manc"].swc_voxel_size == (8.0, 8.0, 8.0)
    assert PROFILES["flywire"].synapse_voxel_size == (4.0, 4.0, 40.0)
    assert PROFILES["h01"].synapse_voxel_size == (8.0, 8.0, 33.0)
    assert PROFILES["fafb"].swc_units == "nm" and PROFILES["neuromorpho"].swc_units == "um"
    for name in ("hemibrain", "manc", "flywire", "fafb"):
        assert PROFILES[name].compartments == "insect" and not PROFILES[name].spines
    for p in PROFILES.values():
        assert 0 < p.min_soma_radius_nm < p.max_soma_radius_nm


def test_unknown_dataset_names_the_known_ones():
    with pytest.raises(ng.InputError, match="hemibrain.*microns"):
        get_profile("drosophila")
    assert get_profile("HemiBrain").name == "hemibrain"


def test_docs_table_is_generated_from_the_profiles():
    text = (ROOT / "docs" / "datasets.md").read_text()
    assert profiles_markdown() in text, "regenerate docs/datasets.md: python -m neurograph.datasets"
    for name in REQUIRED:
        assert f"`{name}`" in text


def test_synapse_columns_used_only_when_the_table_has_them():
    table = pd.DataFrame({"prepost": ["presyn"], "synapse_x": [1], "synapse_y": [1], "synapse_z": [1],
                          "synapse_id": [3]})
    assert synapse_columns_for(PROFILES["microns"], table)["x"] == "synapse_x"
    assert synapse_columns_for(PROFILES["microns"], table.rename(columns={"synapse_x": "x"})) is None
    assert synapse_columns_for(None, table) is None


@pytest.fixture(scope="module")
def fragment():
    return ng.synthetic.make_neuron(1, "fragment")


def test_extract_takes_the_profile_and_explicit_values_win(fragment, tmp_path):
    mesh = fragment.mesh
    scaled = (np.asarray(mesh.vertices) / 8.0, np.asarray(mesh.faces))  # a mesh in 8 nm voxels
    hb = ng.extract(scaled, dataset="hemibrain", name="hb")
    assert hb.settings["dataset"] == "hemibrain" and hb.settings["spines"] is False
    assert hb.settings["voxel_size"] == [8.0, 8.0, 8.0] and hb.settings["compartment_method"] == "insect"
    assert hb.spines is None
    # same cable as extracting with the explicit voxel size
    assert hb.skeleton.cable_length == pytest.approx(ng.extract(scaled, voxel_size=8, spines=False).skeleton.cable_length)
    over = ng.extract(mesh, dataset="hemibrain", voxel_size=1.0, spines=True, min_soma_radius=3000.0)
    assert over.settings["voxel_size"] == 1.0 and over.settings["spines"] is True
    assert over.settings["min_soma_radius"] == 3000.0 and over.settings["dataset"] == "hemibrain"
    assert over.spines is not None
    plain = ng.extract(mesh, spines=False)
    assert plain.settings["dataset"] is None and plain.settings["voxel_size"] == 1.0
    path = tmp_path / "hb.neuron.zip"
    hb.save(path)
    assert ng.load(path).settings == hb.settings
    with pytest.raises(ng.InputError, match="known datasets"):
        ng.extract(mesh, dataset="mouse")


def test_load_swc_units_from_the_profile(navis_data):
    swc = navis_data / "swc" / "722817260.swc"
    a = ng.load_swc(swc, dataset="hemibrain")
    b = ng.load_swc(swc, units="voxel", voxel_size=8)
    np.testing.assert_allclose(a.skeleton.vertices, b.skeleton.vertices)
    assert a.settings["dataset"] == "hemibrain" and a.settings["units"] == "voxel"
    c = ng.load_swc(swc, dataset="hemibrain", units="nm")  # explicit units win
    assert c.skeleton.cable_length == pytest.approx(a.skeleton.cable_length / 8, rel=1e-6)
    with pytest.raises(ng.InputError, match="units"):
        ng.load_swc(swc)


def test_manifest_dataset_column(tmp_path):
    from neurograph.batch.inputs import read_manifest

    (tmp_path / "a.obj").write_text("")
    (tmp_path / "m.csv").write_text("path,dataset\na.obj,Hemibrain\n")
    assert read_manifest(tmp_path / "m.csv")[0].dataset == "hemibrain"
    (tmp_path / "bad.csv").write_text("path,dataset\na.obj,zebrafish\n")
    with pytest.raises(ng.InputError, match="line 2.*known datasets"):
        read_manifest(tmp_path / "bad.csv")


def test_cli_has_a_dataset_option():
    from neurograph.cli import build_parser

    args = build_parser().parse_args(["extract", "x.obj", "-o", "out", "--dataset", "hemibrain"])
    assert args.dataset == "hemibrain" and args.voxel_size is None
    args = build_parser().parse_args(["batch", "x.obj", "-o", "out", "--dataset", "microns"])
    assert args.dataset == "microns"


def test_batch_neurons_row_records_profile_and_values(fragment):
    import json

    from neurograph.batch.inputs import Task
    from neurograph.batch.tables import neurons_row

    neuron = ng.extract(fragment.mesh, dataset="flywire")
    row = neurons_row(neuron, Task("f", "/x/f.ply", "mesh", dataset="flywire"))
    assert list(row.columns[:4]) == ["neuron", "label", "path", "kind"]
    assert row["dataset"].iat[0] == "flywire"
    settings = json.loads(row["settings"].iat[0])
    assert settings["spines"] is False and settings["synapse_voxel_size"] == [4.0, 4.0, 40.0]
