"""Synthetic merge errors with exact ground truth, for testing soma splitting and proofreading.

:func:`make_merge` unites synthetic cells (:func:`neurograph.synthetic.make_neuron`) the way
segmentation merges look: the exact manifold union of their surfaces where neurites touch or
cross. Three kinds:

``touch``
    Two cells whose dendrites cross (through each other) or touch side by side.
``axon_on_dendrite``
    A soma-less axon fragment (0.2-0.4 µm thick) fused onto a dendrite of one cell, either
    passing through it or ending on it.
``soma_bridge``
    Two somata joined by a neurite: a dendrite of the second cell runs to the first soma.

Every face of the merged mesh knows its true cell (manifold3d keeps the original of every
triangle through the union), and the merge points are the centres of the overlaps.
"""

from __future__ import annotations

from dataclasses import dataclass

import manifold3d as m3d
import numpy as np
import trimesh
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from ..errors import InputError
from .cells import SyntheticNeuron, make_neuron, perpendicular, segment_capsules, unit_vector, wiggly_path

KINDS = ("touch", "axon_on_dendrite", "soma_bridge")


@dataclass
class MergedNeuron:
    """Merged cells and their ground truth (nm).

    Attributes
    ----------
    mesh : trimesh.Trimesh
        The united, watertight surface, nm (``mesh.units == "nm"``).
    face_cell : (n_faces,) int ndarray
        True cell (index into ``paths``/``soma_centers``) of every face.
    merge_points : (k, 3) float ndarray
        Centres of the places where the cells were joined.
    paths : list of list of (m, 3) ndarray
        Axis polylines of every cell's branches.
    radii : list of list of (float, float)
        Start and end radius of every branch, nm.
    soma_centers : list of (3,) ndarray or None
        None for a soma-less fragment.
    soma_radii : list of float
    kind : str
    seed : int
    """

    mesh: trimesh.Trimesh
    face_cell: np.ndarray
    merge_points: np.ndarray
    paths: list
    radii: list
    soma_centers: list
    soma_radii: list
    kind: str
    seed: int

    @property
    def n_cells(self) -> int:
        return len(self.paths)

    def cell_of(self, points: np.ndarray, spacing: float = 100.0) -> np.ndarray:
        """True cell of the nearest branch axis (or soma) of each point.

        Parameters
        ----------
        points : (n, 3) float ndarray
            nm, e.g. skeleton nodes.
        spacing : float, default 100
            nm between axis samples.

        Returns
        -------
        (n,) int ndarray
            Cell index; a point inside a soma belongs to that soma's cell.
        """
        pts, lab = [], []
        for c, paths in enumerate(self.paths):
            for path in paths:
                seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
                s = np.concatenate([[0], np.cumsum(seg)])
                t = np.arange(0, s[-1] + 1e-9, spacing)
                pts.append(np.column_stack([np.interp(t, s, path[:, k]) for k in range(3)]))
                lab.append(np.full(len(t), c))
        points = np.asarray(points, float).reshape(-1, 3)
        d, idx = cKDTree(np.vstack(pts)).query(points)
        out = np.concatenate(lab)[idx]
        best = d.copy()
        for c, (centre, r) in enumerate(zip(self.soma_centers, self.soma_radii)):
            if centre is None:
                continue
            ds = np.maximum(np.linalg.norm(points - centre, axis=1) - r, 0.0)
            better = ds < best
            out[better], best[better] = c, ds[better]
        return out


def _manifold(mesh: trimesh.Trimesh) -> m3d.Manifold:
    return m3d.Manifold(m3d.Mesh(np.asarray(mesh.vertices, np.float32), np.asarray(mesh.faces, np.uint32)))


def _tube(path: np.ndarray, r0: float, r1: float) -> m3d.Manifold:
    return m3d.Manifold.batch_boolean(segment_capsules(path, r0, r1), m3d.OpType.Add)


def _point_on(cell: SyntheticNeuron, rng: np.random.Generator, min_soma_dist: float,
              compartments=("dendrite", "apical")) -> tuple[np.ndarray, np.ndarray, float]:
    """A point on a dendrite axis, its tangent and radius, at least ``min_soma_dist`` from the soma
    and 3 µm from branch ends."""
    rows = [b for b in range(len(cell.paths)) if cell.branches["compartment"].iat[b] in compartments]
    for _ in range(200):
        b = int(rng.choice(rows))
        path = cell.paths[b]
        seg = np.linalg.norm(np.diff(path, axis=0), axis=1)
        s = np.concatenate([[0], np.cumsum(seg)])
        if s[-1] < 8000:
            continue
        t = rng.uniform(3000, s[-1] - 3000)
        k = min(max(int(np.searchsorted(s, t)), 1), len(s) - 1)
        p = np.array([np.interp(t, s, path[:, c]) for c in range(3)])
        if np.linalg.norm(p - np.zeros(3)) < min_soma_dist:
            continue
        r0, r1 = cell.branches["radius_start"].iat[b], cell.branches["radius_end"].iat[b]
        return p, unit_vector(path[k] - path[k - 1]), float(np.interp(t, [0, s[-1]], [r0, r1]))
    raise RuntimeError("no dendrite point far enough from the soma")


def _rigid(rng: np.random.Generator, src_p, src_t, dst_p, dst_t) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and translation taking point/tangent (src) onto (dst)."""
    rot, _ = Rotation.align_vectors([dst_t], [src_t])
    spin = Rotation.from_rotvec(dst_t * rng.uniform(0, 2 * np.pi))
    R = (spin * rot).as_matrix()
    return R, dst_p - R @ src_p


def _union(solids: list[m3d.Manifold]) -> tuple[trimesh.Trimesh, np.ndarray, list]:
    """Union of solids; the index of the solid every output face comes from, and the overlaps."""
    originals = [s.as_original() for s in solids]
    ids = [s.original_id() for s in originals]
    out = m3d.Manifold.batch_boolean(originals, m3d.OpType.Add).to_mesh()
    faces = np.asarray(out.tri_verts, np.int64)
    run_id = np.asarray(out.run_original_id)
    run_index = np.asarray(out.run_index) // 3
    face_src = np.empty(len(faces), np.int64)
    for r, oid in enumerate(run_id):
        face_src[run_index[r]:run_index[r + 1]] = ids.index(int(oid))
    overlaps = []
    for i in range(len(originals)):
        for j in range(i + 1, len(originals)):
            inter = originals[i] ^ originals[j]
            if not inter.is_empty():
                overlaps.extend(inter.decompose())
    mesh = trimesh.Trimesh(np.asarray(out.vert_properties, float)[:, :3], faces, process=False, metadata={"units": "nm"})
    return mesh, face_src, overlaps


def _centroid(m: m3d.Manifold) -> np.ndarray:
    v = np.asarray(m.to_mesh().vert_properties, float)[:, :3]
    return v.mean(axis=0)


def make_merge(seed: int = 0, kind: str = "touch", shapes: tuple[str, str] = ("multipolar", "bipolar"),
               orient: bool = True) -> MergedNeuron:
    """Merged synthetic cells with exact truth (nm).

    Parameters
    ----------
    seed : int
        Same seed, same merge.
    kind : {"touch", "axon_on_dendrite", "soma_bridge"}
        See the module docstring.
    shapes : (str, str), default ("multipolar", "bipolar")
        Shapes of the two cells (:data:`neurograph.synthetic.SHAPES`; the second is unused for
        ``axon_on_dendrite``).
    orient : bool, default True
        Apply a random rotation and offset to the result (seeded).

    Returns
    -------
    MergedNeuron
        ``face_cell`` 0 for the first cell, 1 for the second cell or the axon fragment.

    Raises
    ------
    InputError
        For an unknown kind.
    """
    if kind not in KINDS:
        raise InputError(f"unknown merge kind {kind!r}; choose one of {list(KINDS)}")
    rng = np.random.default_rng(seed)
    for attempt in range(30):
        a = make_neuron(seed=int(rng.integers(2 ** 31)), shape=shapes[0], orient=False)
        solid_a = _manifold(a.mesh)
        try:
            out = _build(kind, a, solid_a, rng, shapes[1])
        except RuntimeError:
            continue
        if out is not None:
            break
    else:
        raise RuntimeError(f"could not build a {kind} merge for seed {seed}")
    mesh, face_cell, points, paths, radii, centres, soma_r = out
    if orient:
        R = Rotation.random(random_state=rng.integers(2 ** 31)).as_matrix()
        off = rng.uniform(2e5, 1e6, size=3)

        def move(p):
            return np.asarray(p, float) @ R.T + off

        mesh = trimesh.Trimesh(move(mesh.vertices), mesh.faces, process=False, metadata={"units": "nm"})
        points = move(points)
        paths = [[move(p) for p in cell] for cell in paths]
        centres = [None if c is None else move(c) for c in centres]
    return MergedNeuron(mesh, face_cell, np.asarray(points).reshape(-1, 3), paths, radii, centres, soma_r, kind, seed)


def _cell_paths(cell: SyntheticNeuron, R=np.eye(3), t=np.zeros(3)):
    paths = [p @ R.T + t for p in cell.paths]
    radii = list(zip(cell.branches["radius_start"], cell.branches["radius_end"]))
    return paths, radii


def _build(kind, a, solid_a, rng, shape_b):
    min_soma = 25000.0
    if kind == "axon_on_dendrite":
        p, tangent, r = _point_on(a, rng, min_soma)
        across = perpendicular(tangent, rng)
        radius = rng.uniform(100, 200)
        length = rng.uniform(30000, 60000)
        if rng.random() < 0.5:  # passing through the dendrite
            start = p - across * length / 2
            path = wiggly_path(start, across, length, rng, step=2000.0, wiggle=0.05)
            # make sure it passes through p: shift the middle sample onto it
            mid = path[np.argmin(np.linalg.norm(path - p, axis=1))]
            path = path + (p - mid)
        else:  # ending on the dendrite: starts inside it
            path = wiggly_path(p, across, length, rng, step=2000.0, wiggle=0.05)
        frag = _tube(path, radius, radius)
        if _far_contacts(a, path, radius, p):
            return None
        mesh, face_src, overlaps = _union([solid_a, frag])
        if len(overlaps) != 1:
            return None
        pa, ra = _cell_paths(a)
        return mesh, face_src, [_centroid(overlaps[0])], [pa, [path]], [ra, [(radius, radius)]], \
            [np.zeros(3), None], [a.soma_radius, 0.0]
    b = make_neuron(seed=int(rng.integers(2 ** 31)), shape=shape_b, orient=False)
    if kind == "touch":
        pa_, ta, ra_ = _point_on(a, rng, min_soma)
        pb_, tb, rb_ = _point_on(b, rng, min_soma)
        target_t = perpendicular(ta, rng)
        R, t = _rigid(rng, pb_, tb, pa_, target_t)
        if rng.random() < 0.5:  # side by side, overlapping by a third of the thinner one
            normal = np.cross(ta, target_t)
            t = t + normal * (ra_ + rb_ - 0.33 * min(ra_, rb_))
        solid_b = _manifold(b.mesh).transform(np.column_stack([R, t]))
        centre_b = t
        if np.linalg.norm(centre_b) < 2 * min_soma:
            return None
        mesh, face_src, overlaps = _union([solid_a, solid_b])
        if len(overlaps) != 1:
            return None
        pa, ra = _cell_paths(a)
        pb, rb = _cell_paths(b, R, t)
        return mesh, face_src, [_centroid(overlaps[0])], [pa, pb], [ra, rb], [np.zeros(3), centre_b], \
            [a.soma_radius, b.soma_radius]
    # soma_bridge: the second cell sits 35-60 µm away; one of its dendrites runs to the first soma
    u = unit_vector(rng.normal(size=3))
    dist = rng.uniform(35000, 60000)
    R = Rotation.random(random_state=rng.integers(2 ** 31)).as_matrix()
    centre_b = u * dist
    start = centre_b - u * b.soma_radius * 0.7
    end = -u * 0.0 + u * a.soma_radius * 0.8  # inside the first soma's surface
    length = np.linalg.norm(end - start)
    path = wiggly_path(start, -u, length, rng, step=2000.0, wiggle=0.05)
    path = path + np.linspace(0, 1, len(path))[:, None] * (end - path[-1])
    r0, r1 = rng.uniform(800, 1100), rng.uniform(300, 400)
    pb, rb = _cell_paths(b, R, centre_b)
    # a real dendrite does not fuse through other neurites on its way: only its two ends touch
    pa, ra = _cell_paths(a)
    if _passes_through(path, r0, pa, a, np.zeros(3), a.soma_radius) or \
            _passes_through(path, r0, pb, b, centre_b, b.soma_radius):
        return None
    solid_b = _manifold(b.mesh).transform(np.column_stack([R, centre_b])) + _tube(path, r0, r1)
    mesh, face_src, overlaps = _union([solid_a, solid_b])
    if len(overlaps) != 1:
        return None
    return mesh, face_src, [_centroid(overlaps[0])], [pa, pb + [path]], [ra, rb + [(r0, r1)]], \
        [np.zeros(3), centre_b], [a.soma_radius, b.soma_radius]


def _far_contacts(a: SyntheticNeuron, path: np.ndarray, radius: float, p: np.ndarray) -> bool:
    """True when the fragment comes near the cell anywhere but around ``p``."""
    pts = np.vstack([np.linspace(x, y, 10) for x, y in zip(path[:-1], path[1:])])
    axis = np.vstack(a.paths)
    d, _ = cKDTree(axis).query(pts)
    limit = radius + a.branches["radius_start"].max() + 1500
    far = np.linalg.norm(pts - p, axis=1) > 6000
    return bool(np.any((d < limit) & far)) or bool(np.any(np.linalg.norm(pts, axis=1) < a.soma_radius + 3000))


def _passes_through(path: np.ndarray, radius: float, axes: list, cell: SyntheticNeuron, centre: np.ndarray,
                    soma_radius: float, margin: float = 1500.0) -> bool:
    """True when a neurite (``path``, nm, ending at ``centre``'s soma) comes within touching distance
    (its radius + the branch's + ``margin``) of any branch axis of ``cell`` (``axes``, placed)
    farther than ``soma_radius`` + 6 µm from that soma: a segmentation would merge it there too."""
    pts = np.vstack([np.linspace(x, y, 10) for x, y in zip(path[:-1], path[1:])])
    pts = pts[np.linalg.norm(pts - centre, axis=1) > soma_radius + 6000.0]
    if len(pts) == 0:
        return False
    d, _ = cKDTree(np.vstack(axes)).query(pts)
    return bool(np.any(d < radius + cell.branches["radius_start"].max() + margin))
