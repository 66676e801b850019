"""Shared fixtures: navis example data (always installed with the test extra) and the
optional real data in ../shared/data (tests skip when it is absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
HEMIBRAIN_IDS = ["1734350788", "1734350908", "722817260", "754534424", "754538881"]
HEMIBRAIN_WITHOUT_SOMA = "722817260"


@pytest.fixture(scope="session")
def navis_data() -> Path:
    navis = pytest.importorskip("navis")
    return Path(os.path.dirname(navis.__file__)) / "data"


@pytest.fixture(scope="session")
def microns_mesh_path() -> Path:
    path = SHARED / "microns_neurd" / "864691135510518224_decimated_mesh.off"
    if not path.exists():
        pytest.skip("real MICrONS data not present (../shared/data)")
    return path


@pytest.fixture(scope="session")
def hemibrain_neurons(navis_data):
    """The 5 hemibrain DA1 meshes through the whole pipeline, once per session."""
    import neurograph as ng

    return {sid: ng.extract(navis_data / "obj" / f"{sid}.obj", voxel_size=8, spines=False) for sid in HEMIBRAIN_IDS}
