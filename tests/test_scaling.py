"""Scale: results that do not depend on tessellation, and opt-in decimation."""

import numpy as np
import pytest
import trimesh

import neurograph as ng
from neurograph import synthetic
from neurograph.errors import InputError


@pytest.fixture(scope="module")
def bipolar():
    return synthetic.make_neuron(1, "bipolar")


def test_decimate_keeps_the_tree(bipolar):
    full = ng.extract(bipolar.mesh, spines=False)
    for decimate in (0.3, len(bipolar.mesh.faces) // 3):
        small = ng.extract(bipolar.mesh, spines=False, decimate=decimate)
        kept = small.repair_report["faces_decimated"] / len(bipolar.mesh.faces)
        assert 0.28 < kept < 0.36
        assert len(small.branches) == len(full.branches) == len(bipolar.branches)
        assert abs(small.branches.length.sum() / full.branches.length.sum() - 1) < 0.03


@pytest.mark.parametrize("bad", [0, -3, 1.5, "half", True])
def test_bad_decimate_is_a_clear_error(bipolar, bad):
    with pytest.raises(InputError, match="decimate"):
        ng.extract(bipolar.mesh, spines=False, decimate=bad)
