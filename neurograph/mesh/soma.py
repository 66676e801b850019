"""Find somata on a neuron mesh.

Membrane area density (face areas binned on a grid and summed over a ball) marks the
places with enough surface for a soma. Probe points there are kept where rays in many
directions leave through the inner side of the membrane and reach it at a median
distance of at least the smallest soma radius: the point is enclosed, and far from the
membrane in most directions. Enclosed probes group into somata. Unlike ray-based
thickness from the surface (SDF), this survives internal nucleus surfaces, holes and
inconsistent normals, all common in EM meshes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import trimesh
from numba import njit
from scipy import sparse
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from ..arrays import unique_rows
from ..errors import InputError, check_indices
from ..io.meshes import validate_arrays
from ..unionfind import set_labels, union
from .components import cell_keys


@dataclass
class Soma:
    """A soma found on a mesh.

    Attributes
    ----------
    center : (3,) float ndarray
        Centre in nm.
    radius : float
        Radius in nm: the largest sphere about ``center`` whose area the surface still
        covers (``coverage``).
    faces : (k,) int64 ndarray
        Indices of the mesh faces that belong to the soma (centroid within
        ``1.1 * radius`` of the centre, connected to the soma surface).
    area_density : float
        Membrane area (µm²) within the detection ball, the detector's score.
    """

    center: np.ndarray
    radius: float
    faces: np.ndarray
    area_density: float = 0.0

    def __repr__(self) -> str:
        c = ", ".join(f"{x:,.0f}" for x in self.center)
        return f"Soma(center=({c}) nm, radius={self.radius / 1000:.2f} µm, {len(self.faces)} faces)"


def check_somas(somas, n_faces: int | None, point: bool = False) -> list:
    """The somata as a list, each checked for what the mesh steps read from it.

    Parameters
    ----------
    somas : sequence of Soma or None
        From :func:`find_somas` (or built by hand).
    n_faces : int or None
        Faces of the mesh the somata belong to (None: no mesh, faces not checked).
    point : bool, default False
        Also accept a radius of 0 (a point soma, e.g. the stand-in soma of a soma-less SWC).

    Returns
    -------
    list of Soma
        The same objects.

    Raises
    ------
    InputError
        An item without ``center``, ``radius`` and ``faces``; a centre that is not 3 finite
        numbers (nm); a radius that is not a positive (``point``: non-negative) finite number
        (nm); face indices that are not integers within ``[0, n_faces)``.
    """
    out = list(somas or [])
    for i, soma in enumerate(out):
        if not all(hasattr(soma, name) for name in ("center", "radius", "faces")):
            raise InputError(f"somas[{i}] is a {type(soma).__name__}, not a Soma (center, radius, faces): "
                             "pass what neurograph.find_somas returns")
        try:
            center = np.asarray(soma.center, dtype=float)
            radius = float(soma.radius)
        except (TypeError, ValueError) as exc:
            raise InputError(f"soma {i}: centre and radius must be numbers ({exc})") from None
        if center.shape != (3,) or not np.isfinite(center).all():
            raise InputError(f"soma {i}: the centre must be 3 finite coordinates (nm), got {soma.center!r}")
        if not (np.isfinite(radius) and (radius > 0 or (point and radius == 0))):
            raise InputError(f"soma {i}: the radius must be a {'non-negative' if point else 'positive'} length (nm), "
                             f"got {soma.radius!r}")
        if n_faces is None:
            continue
        faces = check_indices(soma.faces, f"soma {i} faces")
        if faces.ndim != 1:
            raise InputError(f"soma {i}: faces must be a 1-d array of face indices, got shape {faces.shape}")
        if faces.size and (faces.min() < 0 or faces.max() >= n_faces):
            raise InputError(f"soma {i}: face indices must lie in [0, {n_faces - 1}] (this mesh's faces), found "
                             f"[{faces.min()}, {faces.max()}]: were the somata found on another mesh?")
    return out


#: A soma centre has free space around it: the median distance to the first membrane its rays
#: meet is at least this fraction of ``min_radius`` (about the soma radius on a bare cell
#: body, the nucleus radius where the nucleus is meshed). Inside a thin neurite of a dense
#: tangle (a fly glomerulus on a coarse mesh) the *last* hits can lie microns away while the
#: first lie within the neurite's radius (measured: true somata 2.8-3.7 µm, such points
#: 0.05-0.81 µm on the hemibrain DA1 and MICrONS meshes).
MIN_FREE = 0.6


def _ball_sums(cells: np.ndarray, weights: np.ndarray, radius_cells: float) -> np.ndarray:
    """Sum ``weights`` of occupied cells within ``radius_cells`` of each occupied cell."""
    keys = cell_keys(cells)
    order = np.argsort(keys)
    r = int(np.ceil(radius_cells))
    grid = np.mgrid[-r:r + 1, -r:r + 1, -r:r + 1].reshape(3, -1).T
    offsets = grid[np.linalg.norm(grid, axis=1) <= radius_cells]
    total = np.zeros(len(cells))
    total[order] = _offset_sums(keys[order], np.asarray(weights, float)[order], np.asarray(offsets, np.int64))
    return total


@njit(cache=True)
def _offset_sums(keys: np.ndarray, weights: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """For every cell (``keys`` sorted, as :func:`neurograph.mesh.components.cell_keys`), the
    ``weights`` of the occupied cells at each of ``offsets`` from it, added offset after
    offset. Shifting every cell by one offset keeps the keys in order (the fields of a key
    do not overflow), so each offset is one merge of two sorted lists."""
    n = keys.shape[0]
    total = np.zeros(n)
    for o in range(offsets.shape[0]):
        shift = (offsets[o, 0] << 42) + (offsets[o, 1] << 21) + offsets[o, 2]
        j = 0
        for i in range(n):
            k = keys[i] + shift
            while j < n and keys[j] < k:
                j += 1
            if j == n:
                break
            if keys[j] == k:
                total[i] += weights[j]
    return total


def _sphere_directions(n: int = 26) -> np.ndarray:
    """Roughly uniform unit vectors (Fibonacci sphere)."""
    k = np.arange(n) + 0.5
    phi = np.arccos(1 - 2 * k / n)
    theta = np.pi * (1 + 5 ** 0.5) * k
    return np.column_stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)])


def _ray_profile(mesh: trimesh.Trimesh, points: np.ndarray, max_dist: float,
                 directions: np.ndarray, chunk: int = 4096,
                 min_inside: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each point: fraction of rays whose first hit is a back face (inside), the
    median distance to the last hit within ``max_dist`` (nm), and the median distance to
    the first hit (nm; ``max_dist`` for a ray that hits nothing).

    Rays are cast ``chunk`` points at a time so that memory stays bounded whatever ray
    engine trimesh has (embree, or its much hungrier pure-Python fallback). With
    ``min_inside`` > 0 only points with at least that fraction inside are profiled in full
    (:func:`_enclosed_first_hits`); the others get the two distances NaN and ``inside`` a
    value below ``min_inside`` (the fraction of all rays seen to leave through a back face
    before the point was ruled out). Most probes of a neuron lie between neurites, outside
    the membrane, so this casts a fraction of the rays; for the points kept every value is
    what the full cast gives.
    """
    if "embree" not in type(mesh.ray).__module__:
        # trimesh's fallback engine holds every candidate hit in memory, and is ~100x slower
        warnings.warn("trimesh has no embree ray engine (pip install embreex): soma detection will be slow",
                      RuntimeWarning, stacklevel=3)
        chunk = min(chunk, 128)
    if len(points) > chunk:
        parts = [_ray_profile(mesh, points[i:i + chunk], max_dist, directions, chunk, min_inside)
                 for i in range(0, len(points), chunk)]
        return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))
    if min_inside > 0:
        inside, first, back = _enclosed_first_hits(mesh, points, max_dist, directions, min_inside)
        reach, free = np.full(len(points), np.nan), np.full(len(points), np.nan)
        sure = inside >= min_inside  # every ray of these was cast: only the reversed ones are left
        if sure.any():
            inside[sure], reach[sure], free[sure] = _profile(mesh, points[sure], max_dist, directions, first[sure],
                                                             back[sure])
        return inside, reach, free
    return _profile(mesh, points, max_dist, directions, *_forward(mesh, points, max_dist, directions))


def _enclosed_first_hits(mesh: trimesh.Trimesh, points: np.ndarray, max_dist: float, directions: np.ndarray,
                         min_inside: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``inside`` of :func:`_ray_profile` from first hits, exact where it is at least
    ``min_inside``. A point needs ``need`` rays (of ``n``) leaving through a back face, so
    it is ruled out as soon as ``n - need + 1`` of its rays do not: the directions are cast
    in rounds, spread over the sphere, each round only from the points still possible.
    Every ray gives what it gives in one cast of all (rays are independent), so the points
    kept get exactly the full count; a point ruled out gets its count so far (/ ``n``),
    which is below ``min_inside``. Also the rays' first-hit distances and back-face flags
    (:func:`_forward`; NaN and False for rays not cast): a point kept has had every ray cast."""
    n_p, n_d = len(points), len(directions)
    first, backface = np.full((n_p, n_d), np.nan), np.zeros((n_p, n_d), bool)
    need = next((k for k in range(n_d + 1) if k / n_d >= min_inside), n_d + 1)
    spare = n_d - need  # rays a kept point may have that do not leave through a back face
    if spare < 0:
        return np.zeros(n_p), first, backface
    # a low-discrepancy order (golden-ratio stride), so that each round looks all around
    order = np.argsort((np.arange(n_d) * 0.6180339887498949) % 1.0, kind="stable")
    alive = np.arange(n_p)
    cast = 0
    for size in (spare + 1, max(1, (n_d - spare - 1) // 2), n_d):
        batch = order[cast:cast + size]
        if not len(batch) or not len(alive):
            break
        rows = np.ix_(alive, batch)
        first[rows], backface[rows] = _forward(mesh, points[alive], max_dist, directions[batch])
        cast += len(batch)
        alive = alive[cast - backface[alive].sum(axis=1) <= spare]
    return backface.sum(axis=1) / n_d, first, backface


def _forward(mesh: trimesh.Trimesh, points: np.ndarray, max_dist: float,
             directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rays from every point in every direction: the distance to the first face hit (nm; inf:
    none within ``max_dist``) and whether it is a back face (the ray leaves through the
    membrane's inner side), each (n_points, n_directions)."""
    n_p, n_d = len(points), len(directions)
    origins = np.repeat(points, n_d, axis=0)
    dirs = np.tile(directions, (n_p, 1))
    first, tri, ray_idx = _first_hits(mesh, origins, dirs, max_dist)
    back = np.zeros(n_p * n_d, bool)
    back[ray_idx] = (mesh.face_normals[tri] * dirs[ray_idx]).sum(1) > 0
    return first.reshape(n_p, n_d), back.reshape(n_p, n_d)


def _profile(mesh: trimesh.Trimesh, points: np.ndarray, max_dist: float, directions: np.ndarray,
             first: np.ndarray, back: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``inside``, ``reach`` and ``free`` of :func:`_ray_profile` from the rays' first hits
    (:func:`_forward`) and one more cast: the same rays reversed, from ``max_dist`` out back
    towards the point, whose first hit is the last membrane within ``max_dist`` (``reach``).
    That is what casting every hit along the rays gives, without the engine's repeated
    re-casts past each hit."""
    n_p, n_d = len(points), len(directions)
    origins = np.repeat(points, n_d, axis=0)
    dirs = np.tile(directions, (n_p, 1))
    first = first.ravel()
    from_far = _first_hits(mesh, origins + dirs * max_dist, -dirs, max_dist)[0]
    # a ray without a hit reaches max_dist; one the reversed ray grazed past keeps its first hit
    last = np.where(np.isfinite(first), np.fmax(max_dist - from_far, first), max_dist)
    reach = np.median(last.reshape(n_p, n_d), axis=1)
    free = np.median(np.minimum(first, max_dist).reshape(n_p, n_d), axis=1)
    return back.mean(axis=1), reach, free


def _first_hits(mesh: trimesh.Trimesh, origins: np.ndarray, dirs: np.ndarray,
                max_dist: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distance (nm; inf: none within ``max_dist``) to the first face each ray hits, and the
    face and ray index of every hit within ``max_dist``. ``dirs`` are unit vectors."""
    # the faces hit, then the distance along the ray to each one's plane: the hit point,
    # without trimesh building a location per hit (a third of the time of a cast). A ray
    # exactly along a face's plane or a face without a normal gives NaN or inf: no hit. (trimesh
    # dropped hits within ~1e-5 of parallel too; they are kept here, at their distance.)
    tri, ray_idx = mesh.ray.intersects_id(origins, dirs, multiple_hits=False, return_locations=False)
    normal = mesh.face_normals[tri]
    with np.errstate(divide="ignore", invalid="ignore"):
        dist = np.abs(np.einsum("ij,ij->i", mesh.vertices[mesh.faces[tri, 0]] - origins[ray_idx], normal)
                      / np.einsum("ij,ij->i", dirs[ray_idx], normal))
    ok = dist <= max_dist
    first = np.full(len(origins), np.inf)
    first[ray_idx[ok]] = dist[ok]
    return first, tri[ok], ray_idx[ok]


def find_somas(mesh: trimesh.Trimesh, min_radius: float = 2500.0, max_radius: float = 15000.0,
               min_inside: float = 0.6) -> list[Soma]:
    """Find every soma on a neuron mesh.

    Parameters
    ----------
    mesh : trimesh.Trimesh
        Neuron mesh in nm, ideally repaired (:func:`neurograph.repair`).
    min_radius : float, default 2500
        Smallest soma radius in nm looked for (fly somata are ~2.5-3.5 µm, mouse cortical
        ones ~4-8 µm). Around a soma centre the median distance to the membrane, over
        rays in all directions, must be at least this.
    max_radius : float, default 15000
        Largest soma radius in nm.
    min_inside : float, default 0.6
        Fraction of rays cast from a candidate centre that must leave the surface through
        its inner side (the point is enclosed by membrane, not in the space between
        neurites).

    Returns
    -------
    list of Soma
        Largest first; an empty list for a soma-less fragment. No two share a mesh vertex,
        and none has its centre inside another (one body found twice is kept once).

    Raises
    ------
    MeshError
        An empty mesh, NaN or infinite vertices, face indices outside the vertices, or no face
        with area.
    InputError
        Radius limits that are not positive lengths with ``min_radius <= max_radius``.
    """
    validate_arrays(mesh.vertices, mesh.faces)
    try:
        limits_ok = bool(0 < float(min_radius) <= float(max_radius) < np.inf)
    except (TypeError, ValueError):
        limits_ok = False
    if not limits_ok:
        raise InputError(f"soma radius limits must be positive lengths (nm) with min_radius <= max_radius, got "
                         f"{min_radius!r} and {max_radius!r} (extract's min_soma_radius / max_soma_radius; their "
                         "defaults come from the dataset profile: raise max_soma_radius with min_soma_radius)")
    points, areas = np.asarray(mesh.triangles_center), np.asarray(mesh.area_faces)
    pitch = min_radius / 2.0
    origin = points.min(axis=0)
    cells, inverse = unique_rows(np.floor((points - origin) / pitch).astype(np.int64))
    cell_area = np.bincount(inverse.ravel(), weights=areas, minlength=len(cells))
    # 1. Where is there enough membrane for a soma? (cheap, prunes most of the volume)
    density = _ball_sums(cells, cell_area, 1.5 * min_radius / pitch)
    dense = cells[density >= 0.5 * 4 * np.pi * min_radius ** 2]
    if len(dense) == 0:
        return []
    # 2. Grid points near those cells that are far from any surface and enclosed by it.
    fine = pitch / 2
    offsets = np.mgrid[0:2, 0:2, 0:2].reshape(3, -1).T
    probes = unique_rows((dense[:, None, :] * 2 + offsets[None]).reshape(-1, 3))[0]
    probes = origin + (probes + 0.5) * fine
    # only distances are read from this tree, so its shape (unbalanced: a faster build, ~20 ms
    # against ~34 ms at 81k faces) cannot change a result
    surface = cKDTree(np.vstack([mesh.vertices, points]), balanced_tree=False, compact_nodes=False)
    # only whether the nearest surface point is that close: the search stops there (inf beyond)
    clearance = surface.query(probes, distance_upper_bound=0.25 * min_radius)[0]
    probes = probes[clearance >= 0.25 * min_radius]
    if len(probes) == 0:
        return []
    directions = _sphere_directions()
    inside, reach, _ = _ray_profile(mesh, probes, max_radius, directions, min_inside=min_inside)
    probes = probes[(inside >= min_inside) & (reach >= min_radius)]
    if len(probes) == 0:
        return []
    # 3. Group enclosed probes into blobs; each blob is one soma.
    pairs = cKDTree(probes).query_pairs(1.5 * min_radius, output_type="ndarray")
    adj = sparse.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(probes),) * 2)
    _, group = connected_components(adj, directed=False)
    def enclosed(inside: float, radius: float, free: float) -> bool:
        # inside the membrane, wide enough, and not inside a thin neurite (MIN_FREE)
        return inside >= min_inside and radius >= min_radius and free >= MIN_FREE * min_radius

    # rays from every blob's centroid, then from every fitted centre, each in one cast
    sphere = _sphere_directions(64)
    centres = np.array([probes[group == g].mean(axis=0) for g in np.unique(group)])
    inside_c, radius_c, free_c = _ray_profile(mesh, centres, max_radius, sphere)
    blobs = []
    for center, inside, radius, free in zip(centres, inside_c, radius_c, free_c):
        if not enclosed(inside, radius, free):
            continue  # a blob whose centroid falls outside the membrane, or inside a thin neurite, is no soma
        near = np.flatnonzero(np.linalg.norm(points - center, axis=1) <= 1.15 * radius)
        if len(near) == 0:
            continue
        faces = _connected_part(mesh, near)
        blobs.append((center, float(radius), faces, _fit_center(mesh, faces, center)))
    if not blobs:
        return []
    inside_f, radius_f, free_f = _ray_profile(mesh, np.array([b[3] for b in blobs]), max_radius, sphere)
    somas: list[Soma] = []
    for (center, radius, faces, fitted), inside, radius_fit, free in zip(blobs, inside_f, radius_f, free_f):
        if enclosed(inside, radius_fit, free):
            near_f = np.flatnonzero(np.linalg.norm(points - fitted, axis=1) <= 1.15 * radius_fit)
            if len(near_f):  # (on a coarse mesh the fitted sphere can hold no face centroid)
                center, radius, faces = fitted, float(radius_fit), _connected_part(mesh, near_f)
        somas.append(Soma(center=center, radius=radius, faces=faces,
                          area_density=float(areas[faces].sum() / 1e6)))
    return _separate(mesh, somas)


def _separate(mesh: trimesh.Trimesh, somas: list[Soma]) -> list[Soma]:
    """Largest first, with surfaces that share no vertex. A soma whose centre lies inside a
    larger one is that soma found again (probe blobs of one thick body can fit to nearly the
    same sphere) and is dropped; faces touching a larger soma's faces stay with the larger
    one (touching somata of a merge), and a soma left without faces is dropped."""
    kept: list[Soma] = []
    used = np.zeros(len(mesh.vertices), bool)
    for soma in sorted(somas, key=lambda s: -s.radius):
        if any(np.linalg.norm(soma.center - k.center) <= k.radius for k in kept):
            continue
        faces = soma.faces[~used[mesh.faces[soma.faces]].any(axis=1)]
        if len(faces) == 0:
            continue
        if len(faces) < len(soma.faces):
            soma = Soma(center=soma.center, radius=soma.radius, faces=faces,
                        area_density=float(np.asarray(mesh.area_faces)[faces].sum() / 1e6))
        used[mesh.faces[faces]] = True
        kept.append(soma)
    return kept


def _fit_center(mesh: trimesh.Trimesh, faces: np.ndarray, guess: np.ndarray) -> np.ndarray:
    """Least-squares sphere centre of the soma's outer membrane (area-weighted face
    centroids whose normals point away from ``guess``; inner surfaces such as a nucleus
    are left out). The probe grid alone places the centre only to about its spacing."""
    pts = np.asarray(mesh.triangles_center)[faces]
    outward = (np.asarray(mesh.face_normals)[faces] * (pts - guess)).sum(axis=1) > 0
    pts, w = pts[outward], np.sqrt(np.asarray(mesh.area_faces)[faces][outward])
    if len(pts) < 10:
        return guess
    # |p|^2 = 2 p.c + (r^2 - |c|^2): linear in (c, k)
    a = np.column_stack([2 * (pts - guess), np.ones(len(pts))]) * w[:, None]
    b = ((pts - guess) ** 2).sum(axis=1) * w
    sol = np.linalg.lstsq(a, b, rcond=None)[0]
    return guess + sol[:3]


def _connected_part(mesh: trimesh.Trimesh, faces: np.ndarray) -> np.ndarray:
    """Keep the faces of ``faces`` connected (through shared vertices) to its largest piece."""
    labels = _face_pieces(np.asarray(mesh.faces[faces], np.int64), len(mesh.vertices))
    area = np.bincount(labels, weights=mesh.area_faces[faces])
    return np.sort(faces[labels == np.argmax(area)]).astype(np.int64)


@njit(cache=True)
def _face_pieces(tri: np.ndarray, n_vertices: int) -> np.ndarray:
    """Connected pieces of triangles joined through shared vertices (union-find), numbered
    in the order of their first triangle (as ``scipy.sparse.csgraph.connected_components``
    numbers them)."""
    n = tri.shape[0]
    root = np.arange(n)
    first = np.full(n_vertices, -1, np.int64)  # the first triangle at each vertex
    for f in range(n):
        for c in range(3):
            v = tri[f, c]
            if first[v] < 0:
                first[v] = f
            else:
                union(root, f, first[v])
    return set_labels(root)  # pieces numbered by their first triangle
