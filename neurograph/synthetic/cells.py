"""Synthetic neurons with known ground truth, for tests and benchmarks.

:func:`make_neuron` grows a random tree from a spherical soma: tapered dendrites that
bifurcate at known points, a thin smooth axon, and optionally dendritic spines of three
shapes (stubby, thin, mushroom) at known positions. The surface is the exact union
(manifold3d) of spheres and of the convex hulls of consecutive sphere pairs along each
branch, so it is watertight, and the truth is exact: branch paths and lengths, branch
points, soma centre and radius, spine bases, tips and volumes. Everything is in nm and the
whole neuron is placed at a random orientation and position (a seeded rigid transform), so
tests see coordinates like those of a real EM volume.

Example
-------
>>> cell = make_neuron(seed=1, shape="pyramidal", spines_per_um=1.0)
>>> cell.mesh, cell.branches.length.sum(), len(cell.spines)   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field

import manifold3d as m3d
import numpy as np
import pandas as pd
import trimesh
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ..errors import InputError, renamed_parameters

#: shape -> (number of primary dendrites (lo, hi), bifurcation depth (lo, hi), apical dendrite)
SHAPES: dict[str, tuple[tuple[int, int], tuple[int, int], bool]] = {
    "pyramidal": ((3, 5), (1, 2), True),
    "multipolar": ((4, 7), (1, 2), False),
    "bipolar": ((2, 2), (1, 3), False),
    "fragment": ((1, 1), (1, 2), False),
    "unipolar": ((1, 1), (3, 4), False),  # insect-like: one primary neurite; depth of the dendrite
}

#: spine kind -> ((length lo, hi) nm from shaft surface to tip, (head radius lo, hi) nm,
#: (neck radius lo, hi) nm); a stubby spine has no neck narrower than its head.
SPINE_KINDS: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float]]] = {
    "stubby": ((450.0, 800.0), (220.0, 320.0), (220.0, 320.0)),
    "thin": ((1000.0, 2000.0), (150.0, 250.0), (55.0, 80.0)),
    "mushroom": ((1000.0, 1700.0), (300.0, 450.0), (80.0, 110.0)),
}


@dataclass
class SyntheticNeuron:
    """A synthetic neuron and its ground truth (all coordinates in nm).

    Attributes
    ----------
    mesh : trimesh.Trimesh
        Watertight surface, nm (``mesh.units == "nm"``: loaders need no voxel size).
    soma_center : (3,) ndarray or None
        None for a soma-less fragment.
    soma_radius : float
        nm (0 for a fragment).
    branches : pandas.DataFrame
        One row per unbranched segment (index ``branch``): ``parent`` (-1 at the soma or
        root), ``compartment`` (``dendrite``/``apical``/``axon``, ``primary`` for the primary neurite of ``unipolar``), ``length`` (µm, from the
        soma surface or the parent's end), ``radius_start``/``radius_end`` (nm),
        ``n_children``.
    paths : list of (k, 3) ndarray
        Axis polyline of every branch (row order of ``branches``), starting at the soma
        surface or at the parent's end point.
    spines : pandas.DataFrame
        One row per spine: ``branch``, ``kind``, ``base_x/y/z`` (on the shaft surface),
        ``axis_x/y/z`` (on the branch axis below it), ``tip_x/y/z``, ``length`` (µm),
        ``head_radius``, ``neck_radius`` (nm), ``volume`` (µm³, outside the shaft).
    seed : int
    shape : str
    """

    mesh: trimesh.Trimesh
    soma_center: np.ndarray | None
    soma_radius: float
    branches: pd.DataFrame
    paths: list
    spines: pd.DataFrame
    seed: int
    shape: str
    transform: np.ndarray = field(default_factory=lambda: np.eye(4))

    @property
    def total_length(self) -> float:
        """Total cable length in µm (branches from the soma surface)."""
        return float(self.branches["length"].sum())

    @property
    def branch_points(self) -> np.ndarray:
        """(k, 3) nm: end points of branches that have children."""
        ends = np.array([p[-1] for p in self.paths])
        return ends[self.branches["n_children"].to_numpy() > 0]

    @property
    def tips(self) -> np.ndarray:
        """(k, 3) nm: end points of terminal branches."""
        ends = np.array([p[-1] for p in self.paths])
        return ends[self.branches["n_children"].to_numpy() == 0]


def unit_vector(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def perpendicular(d: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A random unit vector perpendicular to unit vector ``d``."""
    v = rng.normal(size=3)
    v -= v.dot(d) * d
    return unit_vector(v)


def _rotate_away(d: np.ndarray, angle: float, axis: np.ndarray) -> np.ndarray:
    """Rotate unit ``d`` by ``angle`` (rad) towards unit ``axis`` (perpendicular to d)."""
    return unit_vector(np.cos(angle) * d + np.sin(angle) * axis)


def wiggly_path(start: np.ndarray, direction: np.ndarray, length: float, rng: np.random.Generator,
          step: float = 2000.0, wiggle: float = 0.15) -> np.ndarray:
    """A gently curving polyline of exactly ``length`` nm (in ``step`` nm pieces)."""
    n = max(2, int(np.ceil(length / step)))
    seg = length / n
    pts, d = [start], direction.copy()
    for _ in range(n):
        d = unit_vector(d + wiggle * rng.normal(size=3) + 0.3 * (direction - d))
        pts.append(pts[-1] + seg * d)
    return np.array(pts)


class _Tree:
    """Branches as parallel lists while growing."""

    def __init__(self) -> None:
        self.parent: list[int] = []
        self.compartment: list[str] = []
        self.paths: list[np.ndarray] = []
        self.r0: list[float] = []
        self.r1: list[float] = []

    def add(self, parent: int, compartment: str, path: np.ndarray, r0: float, r1: float) -> int:
        self.parent.append(parent)
        self.compartment.append(compartment)
        self.paths.append(path)
        self.r0.append(r0)
        self.r1.append(r1)
        return len(self.parent) - 1

    def grow(self, parent: int, compartment: str, start: np.ndarray, direction: np.ndarray,
             radius: float, depth: int, rng: np.random.Generator, length: tuple[float, float],
             taper: float = 0.8, min_radius: float = 300.0) -> None:
        """A branch, then (depth > 0) two children splitting around its end direction."""
        path = wiggly_path(start, direction, rng.uniform(*length), rng)
        r1 = max(min_radius, radius * taper)
        me = self.add(parent, compartment, path, radius, r1)
        if depth <= 0:
            return
        end_dir = unit_vector(path[-1] - path[-2])
        axis = perpendicular(end_dir, rng)
        for sign in (1.0, -1.0):
            child_dir = _rotate_away(end_dir, sign * rng.uniform(0.45, 0.8), axis)
            self.grow(me, compartment, path[-1], child_dir, max(min_radius, r1 * 0.85), depth - 1,
                      rng, length, taper, min_radius)


def _grow(shape: str, rng: np.random.Generator, soma_radius: float) -> _Tree:
    n_primary, depth, apical = SHAPES[shape]
    tree = _Tree()
    n = int(rng.integers(n_primary[0], n_primary[1] + 1))
    if shape == "fragment":
        tree.grow(-1, "dendrite", np.zeros(3), np.array([1.0, 0, 0]), rng.uniform(600, 900),
                  int(rng.integers(*depth, endpoint=True)), rng, (20000.0, 40000.0))
        return tree
    if shape == "unipolar":
        return _grow_unipolar(tree, rng, soma_radius, depth)
    up = np.array([0.0, 0.0, 1.0])
    # primary directions spread over the sphere, the axon leaving downwards
    dirs = unit_vector(rng.normal(size=(n, 3)))
    if shape == "bipolar":
        dirs = np.array([[1.0, 0, 0.2], [-1.0, 0, -0.2]])
    dirs = unit_vector(dirs)
    if apical:
        dirs[:, 2] = np.minimum(dirs[:, 2], 0.3)  # basal dendrites stay below the apical one
        dirs = unit_vector(dirs)
        surface = up * soma_radius
        tree.grow(-1, "apical", surface, up, rng.uniform(1300, 1600), int(rng.integers(2, 4)), rng,
                  (30000.0, 60000.0), taper=0.75)
    for d in dirs:
        tree.grow(-1, "dendrite", d * soma_radius, d, rng.uniform(900, 1200),
                  int(rng.integers(depth[0], depth[1] + 1)), rng, (18000.0, 45000.0))
    axon_dir = unit_vector(-up + 0.3 * perpendicular(-up, rng))
    tree.grow(-1, "axon", axon_dir * soma_radius, axon_dir, rng.uniform(180, 240), 1, rng,
              (60000.0, 120000.0), taper=1.0, min_radius=150.0)
    return tree


def _grow_unipolar(tree: _Tree, rng: np.random.Generator, soma_radius: float, depth: tuple[int, int]) -> _Tree:
    """Insect-like neuron: soma -> primary neurite -> junction -> dendrite arbor + axon tract ->
    axon terminal arbor (truth labels ``primary``, ``dendrite``, ``axon``)."""
    d0 = unit_vector(rng.normal(size=3))
    pn_path = wiggly_path(d0 * soma_radius, d0, rng.uniform(15000, 30000), rng)
    pn = tree.add(-1, "primary", pn_path, 500.0, 400.0)
    end = pn_path[-1]
    end_dir = unit_vector(pn_path[-1] - pn_path[-2])
    axis = perpendicular(end_dir, rng)
    dend_dir = _rotate_away(end_dir, rng.uniform(0.5, 0.9), axis)
    tract_dir = _rotate_away(end_dir, -rng.uniform(0.3, 0.6), axis)
    tree.grow(pn, "dendrite", end, dend_dir, 350.0, int(rng.integers(depth[0], depth[1] + 1)), rng,
              (4000.0, 10000.0), taper=0.85, min_radius=150.0)
    tract_path = wiggly_path(end, tract_dir, rng.uniform(50000, 100000), rng)
    r_tract = rng.uniform(250, 350)
    tract = tree.add(pn, "axon", tract_path, r_tract, r_tract)
    t_end, t_dir = tract_path[-1], unit_vector(tract_path[-1] - tract_path[-2])
    t_axis = perpendicular(t_dir, rng)
    n_terminal = int(rng.integers(2, 4))
    for sign in (1.0, -1.0):
        tree.grow(tract, "axon", t_end, _rotate_away(t_dir, sign * rng.uniform(0.45, 0.8), t_axis), r_tract * 0.9,
                  n_terminal - 1, rng, (6000.0, 15000.0), taper=0.9, min_radius=150.0)
    return tree


def _sample_axes(tree: _Tree, spacing: float = 250.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points every ``spacing`` nm along all branch axes, with their branch and radius."""
    pts, lab, rad = [], [], []
    for b, path in enumerate(tree.paths):
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        s = np.concatenate([[0], np.cumsum(seg)])
        t = np.arange(0, s[-1] + 1e-9, spacing)
        pts.append(np.column_stack([np.interp(t, s, path[:, k]) for k in range(3)]))
        lab.append(np.full(len(t), b))
        rad.append(np.interp(t, [0, s[-1]], [tree.r0[b], tree.r1[b]]))
    return np.vstack(pts), np.concatenate(lab), np.concatenate(rad)


def _meeting_point(tree: _Tree, a: int, b: int) -> np.ndarray | None:
    """The branch point shared by branches ``a`` and ``b`` (parent/child or siblings)."""
    pa, pb = tree.parent[a], tree.parent[b]
    if pa == b:
        return tree.paths[b][-1]
    if pb == a:
        return tree.paths[a][-1]
    if pa == pb and pa >= 0:
        return tree.paths[pa][-1]
    return None


def _collides(tree: _Tree, soma_radius: float, gap: float = 800.0, junction: float = 4000.0) -> bool:
    """True when two unrelated branches (or a branch and the soma) come closer than ``gap``."""
    pts, lab, rad = _sample_axes(tree)
    far = 2 * rad.max() + gap
    pairs = cKDTree(pts).query_pairs(far, output_type="ndarray")
    if len(pairs):
        i, j = pairs[:, 0], pairs[:, 1]
        bad = (lab[i] != lab[j]) & (np.linalg.norm(pts[i] - pts[j], axis=1) < rad[i] + rad[j] + gap)
        for a, b in zip(i[bad], j[bad]):
            ba, bb = lab[a], lab[b]
            pa, pb = tree.parent[ba], tree.parent[bb]
            if pa == pb == -1 and soma_radius > 0:
                meet, near = np.zeros(3), soma_radius + junction  # both leave the soma
            else:
                meet, near = _meeting_point(tree, ba, bb), junction + 2 * rad.max()
            if meet is None or np.linalg.norm(pts[a] - meet) > near or np.linalg.norm(pts[b] - meet) > near:
                return True
    if soma_radius > 0:  # only the first stretch of a primary branch may touch the soma
        dist = np.linalg.norm(pts, axis=1)
        primary = np.array([tree.parent[b] == -1 for b in lab])
        if np.any(~primary & (dist < soma_radius + rad + gap)):
            return True
    return False


def _place_spines(tree: _Tree, density: float, rng: np.random.Generator,
                  kinds: tuple[str, ...]) -> list[dict]:
    """Spines on dendrite branches, ``density`` per µm, kept clear of each other and of
    branch ends and other branches."""
    pts, lab, rad = _sample_axes(tree)
    others = cKDTree(pts)
    spines: list[dict] = []
    heads: list[np.ndarray] = []
    head_r: list[float] = []
    for b, path in enumerate(tree.paths):
        if tree.compartment[b] == "axon":
            continue
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        s = np.concatenate([[0], np.cumsum(seg)])
        margin = 2500.0 + tree.r0[b]
        usable = s[-1] - 2 * margin
        if usable <= 0:
            continue
        for t in np.sort(rng.uniform(margin, s[-1] - margin, rng.poisson(density * usable / 1000))):
            kind = str(rng.choice(kinds))
            (l_lo, l_hi), (h_lo, h_hi), (n_lo, n_hi) = SPINE_KINDS[kind]
            length, rh = rng.uniform(l_lo, l_hi), rng.uniform(h_lo, h_hi)
            rn = rh if kind == "stubby" else rng.uniform(n_lo, n_hi)
            k = min(int(np.searchsorted(s, t)), len(s) - 1)
            axis_pt = np.array([np.interp(t, s, path[:, c]) for c in range(3)])
            tangent = unit_vector(path[k] - path[k - 1])
            u = perpendicular(tangent, rng)
            rs = float(np.interp(t, [0, s[-1]], [tree.r0[b], tree.r1[b]]))
            head = axis_pt + (rs + length - rh) * u
            if heads and np.min(np.linalg.norm(np.array(heads) - head, axis=1) - np.array(head_r)) < rh + 250:
                continue
            near = others.query_ball_point(head, rh + 2 * rad.max() + 500)
            if any(lab[q] != b and np.linalg.norm(pts[q] - head) < rh + rad[q] + 500 for q in near):
                continue
            heads.append(head)
            head_r.append(rh)
            spines.append(dict(branch=b, kind=kind, axis=axis_pt, base=axis_pt + rs * u,
                               tip=axis_pt + (rs + length) * u, head=head, length=length,
                               head_radius=rh, neck_radius=rn, shaft_radius=rs, direction=u))
    return spines


def segment_capsules(path: np.ndarray, r0: float, r1: float) -> list:
    """Convex hulls of consecutive spheres along a path (a tapered tube with round ends)."""
    seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
    radii = np.interp(np.concatenate([[0], np.cumsum(seg)]), [0, seg.sum()], [r0, r1])
    spheres = [m3d.Manifold.sphere(r, int(np.clip(2 * np.pi * r / 200, 10, 20))).translate(tuple(p))
               for p, r in zip(path, radii)]
    return [m3d.Manifold.batch_hull([a, b]) for a, b in zip(spheres[:-1], spheres[1:])]


def _spine_solid(sp: dict) -> m3d.Manifold:
    """Neck (hull of two spheres, its foot buried in the shaft) and head."""
    foot = sp["axis"] + 0.5 * sp["shaft_radius"] * sp["direction"]
    seg = int(np.clip(2 * np.pi * sp["neck_radius"] / 50, 8, 12))
    neck_end = sp["head"] if sp["kind"] == "stubby" else sp["head"] - 0.5 * sp["head_radius"] * sp["direction"]
    neck = m3d.Manifold.batch_hull([m3d.Manifold.sphere(sp["neck_radius"], seg).translate(tuple(foot)),
                                    m3d.Manifold.sphere(sp["neck_radius"], seg).translate(tuple(neck_end))])
    head = m3d.Manifold.sphere(sp["head_radius"], int(np.clip(2 * np.pi * sp["head_radius"] / 60, 10, 16)))
    return neck + head.translate(tuple(sp["head"]))


@renamed_parameters(spine_density="spines_per_um")
def make_neuron(seed: int = 0, shape: str = "pyramidal", spines_per_um: float = 0.0,
                spine_kinds: tuple[str, ...] = ("stubby", "thin", "mushroom"),
                soma_radius: tuple[float, float] | None = None, orient: bool = True) -> SyntheticNeuron:
    """Grow a synthetic neuron with known ground truth.

    Parameters
    ----------
    seed : int
        Same seed, same neuron.
    shape : {"pyramidal", "multipolar", "bipolar", "fragment", "unipolar"}
        ``pyramidal``: a thick apical dendrite with a tuft, 3-5 basal dendrites and an axon;
        ``multipolar``: 4-7 similar dendrites and an axon; ``bipolar``: two opposite
        dendrites and an axon; ``fragment``: a soma-less piece of branching dendrite;
        ``unipolar``: an insect-like neuron (small soma, one primary neurite of 15-30 µm,
        truth label ``primary``, ending where a dense dendritic arbor of short branches
        and a 50-100 µm axon tract leave it; the tract ends in a branching axon terminal).
    spines_per_um : float, default 0
        Mean spines per µm of dendrite (0 gives a smooth neuron; cortical spiny dendrites
        carry ~1-3 per µm). Axons never get spines.
    spine_kinds : tuple of str
        Kinds drawn uniformly from :data:`SPINE_KINDS`.
    soma_radius : (lo, hi) float, optional
        Range of the soma radius in nm; default (5000, 7000), for ``unipolar`` (2500, 3500).
    orient : bool, default True
        Apply a random rotation and an offset of up to 1 mm (seeded).

    Returns
    -------
    SyntheticNeuron
    """
    if shape not in SHAPES:
        raise InputError(f"unknown shape {shape!r}; choose one of {sorted(SHAPES)}")
    unknown = set(spine_kinds) - set(SPINE_KINDS)
    if unknown:
        raise InputError(f"unknown spine kinds {sorted(unknown)}; choose from {sorted(SPINE_KINDS)}")
    if soma_radius is None:
        soma_radius = (2500.0, 3500.0) if shape == "unipolar" else (5000.0, 7000.0)
    rng = np.random.default_rng(seed)
    radius = 0.0 if shape == "fragment" else float(rng.uniform(*soma_radius))
    for _ in range(200):
        tree = _grow(shape, rng, radius)
        if not _collides(tree, radius):
            break
    else:
        raise RuntimeError(f"could not grow a self-avoiding {shape} neuron for seed {seed}")
    spines = _place_spines(tree, spines_per_um, rng, tuple(spine_kinds)) if spines_per_um > 0 else []

    solids = []
    tubes = []
    for b, path in enumerate(tree.paths):
        full = path
        if tree.parent[b] == -1 and radius > 0:  # bury the root of primary branches in the soma
            full = np.vstack([path[0] * 0.7, path])
        tube = segment_capsules(full, tree.r0[b], tree.r1[b])
        tubes.append(m3d.Manifold.batch_boolean(tube, m3d.OpType.Add))
        solids.extend(tube)
    if radius > 0:
        solids.append(m3d.Manifold.sphere(radius, 64))
    spine_solids = [_spine_solid(sp) for sp in spines]
    body = m3d.Manifold.batch_boolean(solids + spine_solids, m3d.OpType.Add)
    out = body.to_mesh()
    vertices = np.asarray(out.vert_properties, float)[:, :3]
    faces = np.asarray(out.tri_verts, np.int64)

    transform = np.eye(4)
    if orient:
        transform[:3, :3] = Rotation.random(random_state=rng.integers(2 ** 31)).as_matrix()
        transform[:3, 3] = rng.uniform(2e5, 1e6, size=3)

    def move(p: np.ndarray) -> np.ndarray:
        return np.asarray(p, float) @ transform[:3, :3].T + transform[:3, 3]

    mesh = trimesh.Trimesh(move(vertices), faces, process=False, metadata={"units": "nm"})  # says its unit
    paths = [move(p) for p in tree.paths]
    lengths = [np.linalg.norm(np.diff(p, axis=0), axis=1).sum() / 1000 for p in tree.paths]
    n_children = np.bincount([p for p in tree.parent if p >= 0], minlength=len(tree.parent))
    branches = pd.DataFrame({"parent": tree.parent, "compartment": tree.compartment, "length": lengths,
                             "radius_start": tree.r0, "radius_end": tree.r1, "n_children": n_children})
    branches.index.name = "branch"
    rows = []
    for sp in spines:
        vol = (_spine_solid(sp) - tubes[sp["branch"]]).volume() / 1e9
        row = dict(branch=sp["branch"], kind=sp["kind"], length=sp["length"] / 1000,
                   head_radius=sp["head_radius"], neck_radius=sp["neck_radius"],
                   shaft_radius=sp["shaft_radius"], volume=vol)
        for key in ("base", "axis", "tip"):
            row.update(zip((f"{key}_x", f"{key}_y", f"{key}_z"), move(sp[key])))
        rows.append(row)
    cols = ["branch", "kind", "length", "head_radius", "neck_radius", "shaft_radius", "volume"] + [
        f"{k}_{c}" for k in ("base", "axis", "tip") for c in "xyz"]
    spine_table = pd.DataFrame(rows, columns=cols)
    spine_table.index.name = "spine"
    center = move(np.zeros(3)) if radius > 0 else None
    return SyntheticNeuron(mesh, center, radius, branches, paths, spine_table, seed, shape, transform)
