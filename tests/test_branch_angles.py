"""Angles at branch points (``angle_to_parent``, ``bif_angle_*``, ``dendrite_bif_angle_*``): exact
values on hand-built skeletons. A child branch's direction runs from 2 µm past its branch point
to 5 µm further (half its length when it is shorter than 4 µm), both points interpolated along
the skeleton; stems and root branches start where they start."""

from __future__ import annotations

import numpy as np
import pytest

import neurograph as ng
from neurograph.features.vector import feature_row


def swc(tmp_path, rows, name="cell"):
    """``rows``: (type, x, y, z in µm, radius µm, parent id or -1), ids 1.. in order."""
    path = tmp_path / f"{name}.swc"
    path.write_text("".join(f"{i} {t} {x} {y} {z} {r} {p}\n" for i, (t, x, y, z, r, p) in enumerate(rows, 1)))
    return ng.load_swc(path, units="um")


def chain(rows, start, points, kind=3):
    """Append nodes at ``points`` (µm) hanging one after the other from node ``start``; the last id."""
    for p in points:
        rows.append((kind, *p, 0.3, start))
        start = len(rows)
    return start


def deg(u, v):
    u, v = np.asarray(u, float), np.asarray(v, float)
    return float(np.degrees(np.arccos(u @ v / np.linalg.norm(u) / np.linalg.norm(v))))


def fork(tmp_path, child1, child2):
    """A stem along +x from a plain root at the origin to (10, 0, 0) (nodes every µm), forking into
    two children given by their node positions."""
    rows = [(3, 0.0, 0.0, 0.0, 0.3, -1)]
    top = chain(rows, 1, [(float(x), 0.0, 0.0) for x in range(1, 11)])
    chain(rows, top, child1)
    chain(rows, top, child2)
    return swc(tmp_path, rows)


def test_child_direction_is_interpolated_from_two_micrometres_past_the_fork(tmp_path):
    # child 1 runs 4 µm along +y on one long edge, then along +x: 2 µm in lies at (10, 2), 7 µm at (13, 4)
    n = fork(tmp_path, [(10.0, 4.0, 0.0), (14.0, 4.0, 0.0), (20.0, 4.0, 0.0)],
             [(10.0, -float(k), 0.0) for k in range(1, 11)])
    b = n.branches
    angles = sorted(b.loc[b["branch_order"] == 2, "angle_to_parent"])
    assert angles == pytest.approx(sorted([deg((3, 2, 0), (1, 0, 0)), 90.0]), abs=1e-6)
    row = feature_row(n, features=["bifurcation_angle"], form="raw")
    assert row["bif_angle_mean"] == pytest.approx(deg((3, 2, 0), (0, -1, 0)), abs=1e-6)  # 123.69°, not 116.6° from the fork


def test_short_child_is_measured_from_its_middle(tmp_path):
    # a 3 µm child, 1 µm up then 2 µm along +x: from 1.5 µm (10.5, 1) to its end (12, 1): along the parent
    n = fork(tmp_path, [(10.0, 1.0, 0.0), (12.0, 1.0, 0.0)], [(10.0, -float(k), 0.0) for k in range(1, 11)])
    b = n.branches
    short = b[(b["branch_order"] == 2) & (b["length"] < 4)]
    assert len(short) == 1
    assert short["angle_to_parent"].iloc[0] == pytest.approx(0.0, abs=1e-6)  # 26.6° from the fork


def test_stems_still_start_at_the_soma(tmp_path):
    # a stem leaving the soma surface at (3, 0, 0), 2 µm up, then along +x: measured from its start
    # to 5 µm along it, (6, 2, 0), against the radial direction (+x); from 2 µm in it would read 0°
    rows = [(1, 0.0, 0.0, 0.0, 3.0, -1)]
    chain(rows, 1, [(3.0, 0.0, 0.0), (3.0, 2.0, 0.0)] + [(3.0 + k, 2.0, 0.0) for k in range(1, 12)])
    n = swc(tmp_path, rows)
    assert n.branches["angle_to_parent"].iloc[0] == pytest.approx(deg((3, 2, 0), (1, 0, 0)), abs=1e-6)


def test_an_edge_that_starts_inside_the_soma_is_measured_from_the_surface(tmp_path):
    """Path lengths count an edge from the soma's surface: the point 2 µm out is found back from the
    edge's far end (a fork at (5, 0, 0) inside a soma of radius 10 µm)."""
    rows = [(1, 0.0, 0.0, 0.0, 10.0, -1), (3, 5.0, 0.0, 0.0, 0.5, 1)]
    chain(rows, 2, [(15.0, 0.0, 0.0), (15.0, 10.0, 0.0), (15.0, 20.0, 0.0)])
    chain(rows, 2, [(5.0, -15.0, 0.0), (5.0, -25.0, 0.0)])
    n = swc(tmp_path, rows)
    b = n.branches
    bent = b[b["length"] > 20]
    # the cable leaves the soma at (10, 0, 0): 2 µm out is (12, 0, 0), 7 µm out (15, 2, 0)
    assert bent["angle_to_parent"].iloc[0] == pytest.approx(deg((3, 2, 0), (1, 0, 0)), abs=1e-6)


def test_dendrite_local_angle_is_the_branch_directions_angle(tmp_path):
    """The opt-in dendrite_form local angle uses the same directions as bif_angle_* (a soma, one
    basal dendrite forking into two children whose first edge is 4 µm long and bent); the remote
    angle runs from the fork to the children's ends."""
    rows = [(1, 0.0, 0.0, 0.0, 3.0, -1)]
    top = chain(rows, 1, [(float(x), 0.0, 0.0) for x in range(4, 21)])
    for s in (1.0, -1.0):
        chain(rows, top, [(20.0, 4.0 * s, 0.0), (24.0, 4.0 * s, 0.0), (30.0, 4.0 * s, 0.0)])
    n = swc(tmp_path, rows)
    row = feature_row(n, features=["bifurcation_angle", "dendrite_bifurcations"], form="raw")
    assert row["bif_angle_mean"] == pytest.approx(deg((3, 2, 0), (3, -2, 0)), abs=1e-6)  # 2 µm in to 7 µm in
    assert row["dendrite_bif_angle_local"] == pytest.approx(row["bif_angle_mean"], abs=1e-6)
    assert row["dendrite_bif_angle_remote"] == pytest.approx(deg((10, 4, 0), (10, -4, 0)), abs=1e-6)
