"""Processing resolution ("resolution floor"): a mesh finer than a physical resolution is
simplified, within a geometric tolerance, before the expensive steps, so that results follow the
geometry and not the tessellation of the input.

The same surface can arrive with 80 thousand or 5 million triangles (a decimated export, the
full-resolution segmentation mesh, a subdivided copy). Somata, skeleton and above all spine
detection sample the surface at its vertices, so a finer tessellation of the same surface gave
other results (issue 13: the MICrONS example cell gave 184 branches and 566 spines as
exported, 139 and 803 at 4x the faces). NEURD and MeshParty decimate every mesh before anything
else; here the target is physical:

* a *density* in faces per µm² of surface (:data:`FACES_PER_UM2`) says which meshes are finer
  than the processing resolution: meshes at or below it are left untouched (bit for bit),
  unless many of their vertices lie on straight creases of the surface (:func:`crease_fraction`,
  :data:`CREASE_FRACTION`): a coarse mesh subdivided stays below the density (the hemibrain
  meshes, ~3 faces per µm², at 4x the faces: ~12) but is a refinement all the same, and its
  midpoints moved the skeleton's level sets and protrusions (+4 to +11 % branches against the
  mesh as exported, before this rule). Vertices inside flat patches do not count: an
  unsimplified marching-cubes mesh is mostly flat voxel faces, and simplifying those into long
  slivers gave a coarse-voxel mesh (400-600 nm voxels) twice the branches of the neuron;
* a *geometric tolerance* in nm (:data:`TOLERANCE_NM`) says how far a finer mesh is simplified:
  as far as no collapse moves the surface by more than about ``tolerance``. The result is set
  by the geometry, not by a face count: the same surface tessellated 4x or 16x finer, or with
  its vertices jittered by a nm, comes down to about the same mesh. Where the surface is curved
  at a small scale (spine necks and heads, ~50-200 nm across) few faces go, while flat and
  gently curved surface (shafts, somata) is coarsened. 5 nm is below one EM voxel (4 x 4 x 40
  nm MICrONS, 8 nm hemibrain), the precision of the segmentation the meshes come from.

Two decimators, by what the surface is:

* a closed 2-manifold (every edge on two faces, consistently oriented: synthetic neurons,
  watertight exports) is simplified by ``manifold3d`` (``Manifold.simplify(tolerance)``), which
  keeps the topology: no holes, pinches or non-manifold edges appear;
* any other mesh (EM exports in thousands of pieces, with holes and non-manifold edges, which
  :func:`neurograph.repair` deals with anyway) by quadric decimation
  (:func:`neurograph.mesh.quadric.simplify`, fast-simplification's algorithm in Numba),
  never collapsing an edge whose quadric error (the sum of squared distances of
  the new vertex to the planes of the original faces merged into it) exceeds
  ``6 * tolerance**2``: a vertex within ``tolerance`` of each of the ~6 face planes about it
  (two calls, each bounded so against the surface it starts from: at most ``2 * tolerance``
  in all). A mesh more than 16x finer than the resolution (millions of faces) is first brought
  down by the same schedule in stages, each stopped once a quarter of its faces is gone, to 4x
  the resolution's face count: on a finely tessellated surface they stop while the collapse
  threshold is still far below the tolerance (see ``_STAGED`` below for why, and the timings).

Neither decimation removes a piece: a loose flat triangle or plate of a few faces (chunked EM
exports hold dozens within a µm of the neuron) collapses to nothing under quadric decimation,
and each such piece, bridged by :func:`neurograph.repair`, had made a twig at one tessellation
and none at another; such pieces are appended as they were (which pieces are debris is for the
repair's piece selection to decide, at any tessellation). ``manifold3d`` removes small closed
pieces, and drops closed pieces without volume, too; those are appended the same way.

Quadric decimation alone does not keep the topology (it has no link-condition check): on a
watertight spiny dendrite subdivided to 4x the faces it left 60 non-manifold edges and 10 holes,
which the spine step took for cut ends of the dendrite (21 branches instead of 3). Hence the
topology-preserving path wherever the input has a topology to preserve.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ..errors import MeshError, check_number
from ..io.meshes import validate_arrays
from .clean import HASH_PRIMES  # the same odd 64-bit multipliers hash the edges here
from .clean import cross_norm
from .components import vertex_components
from .quadric import FS_SCHEDULE, add_plane, check_triangles, simplify

FACES_PER_UM2 = 30.0
"""Default processing resolution in faces per µm² of surface (equilateral triangles of ~280 nm
edges). Chosen from measurements (docs/scaling.md): the MICrONS example mesh
(26.1 faces/µm², median edge 253 nm) and the hemibrain meshes (~3 faces/µm²) are below it and
untouched, as are most synthetic neurons; the MICrONS mesh subdivided to 4x and 16x the faces
comes down to 75-102k faces with the branch, cable and spine counts of the original within 5 %."""

TOLERANCE_NM = 5.0
"""Default geometric tolerance of the decimation in nm (about half an EM voxel: 4 x 4 x 40 nm
MICrONS, 8 nm hemibrain)."""

CREASE_FRACTION = 0.45
"""A mesh at or below the resolution is still simplified when at least this fraction of its
vertices lie on straight creases of its surface (:func:`crease_fraction`): it is a refinement
of a coarser mesh, whose extra vertices carry no geometry but change what the later steps
sample. A midpoint subdivision puts three in four vertices on the old edges, each a crease
between two old faces. Measured at the 5 nm default (docs/scaling.md): exported EM meshes
0.1-11 % (hemibrain 0.1-0.6 %, MICrONS 10.8 %), synthetic neurons 8-24 %, unsimplified
marching-cubes meshes of voxelized neurons 26-34 % (their many redundant vertices lie inside
flat voxel faces, which do not count); the same exports and synthetic neurons subdivided to 4x
the faces 53-72 %, and 60-70 % with every vertex then jittered by 1 nm. Not caught: refinements
that move the vertices (Loop subdivision, a new surface), jitter of 2 nm and more, splits of each
face at its centroid."""

CONDITIONING = 1e-3
"""``conditioning`` of the floor's quadric decimation (:func:`neurograph.mesh.quadric.simplify`):
an edge whose quadric has ``|det A| <= 1e-3 trace(A)**3`` (the normals about it spread by less than
~15 degrees in some direction: a flat or gently curved patch, a crease, a cylinder's side)
collapses to the best of its ends and midpoint, not to the quadric's minimiser. Where the planes
do not pin a point down the minimiser is set by rounding and sub-nm bumps and lies anywhere along
the surface, often far from the edge; the fold test then refuses the collapse, again and again
(2.7M of the 3.3M collapses tested on the MICrONS mesh subdivided to 1.3M faces), and vertices
that a subdivision inserted slide along the surface instead of going. With it a flat subdivision
comes back to the mesh it subdivided, vertex for vertex (tested on an icosphere; an EM mesh with
borders and non-manifold parts comes close, not exactly), so that the floor's result
depends on the surface, not on how it was tessellated: the MICrONS mesh at 4x, 16x and 64x the
faces gives 194 / 191 / 188 branches against 190 at 1x (182 / 192 / 190 with
fast-simplification's rule, 187 / 199 / 176 with 1e-9), and the floor takes 3.9 s instead of
6.6-7.0 s at 1.3M faces (docs/scaling.md). Its price: on a smooth, finely tessellated surface the
ends and midpoint are worse than the minimiser, and more faces stay within the tolerance (an
icosphere of 20k faces at 5 nm: 4.2k instead of 2.2k)."""

# The quadric decimation (:mod:`neurograph.mesh.quadric`) sweeps the mesh 100 times with
# fast-simplification's schedule, threshold 1e-9 * (k + 3) ** 7 in sweep k; coordinates are
# scaled so that the last threshold is 6 * tolerance**2 (nm²): the quadric sums squared distances
# over the planes merged into a vertex (~6 on a regular mesh).
_PLANES = 6.0
_LAST_THRESHOLD = float(FS_SCHEDULE[-1])
# 100 sweeps from millions of faces stop before the tolerance is exhausted (the 1.3M-face MICrONS
# subdivision: 83k faces after one call, 77k after two; 125k and 109k before ill-conditioned
# quadrics collapsed to an edge point, CONDITIONING); a second call, with the quadrics of
# the surface it starts from, goes on
_PASSES = 2
# A mesh more than _STAGED times finer than the floor (the MICrONS mesh at 64x its faces: 53x) is
# first brought down in stages: each call of the same schedule stops once a quarter of the faces
# is gone (from the MICrONS mesh at 64x, both stages stop in sweeps 15-19, where the collapse
# threshold is <= 2e-5 of the last one: a quadric error <= 0.003 nm², moves of hundredths of a
# nm; a mesh that cannot lose a quarter at low error goes on up to the tolerance, like a third
# pass: then up to 3 x tolerance against the input instead of 2 x), until 4x the floor's face
# count; the two passes above follow. Timings of this paragraph from before CONDITIONING
# (docs/scaling.md has the later ones). One call from 5M faces sweeps 400k+ faces it can no longer
# collapse 80 times (35 s, and it stops at 400k faces: collapses on a surface that fine leave
# slivers that block the next ones); the stages and passes together took 33 s against 45 s and
# ended at 194k faces against 263k (a later run: 191k and 260k, docs/scaling.md). Meshes up to
# 16x the floor (every mesh of the tests, the MICrONS mesh to 16x) take the two passes alone.
_STAGED = 16
_STAGE_STOP = 4
_STAGE_FACTOR = 4


def surface_area(vertices: np.ndarray, faces: np.ndarray, chunk: int = 1 << 20) -> float:
    """Total triangle area (no (m, 3, 3) copy of a mesh of millions of faces).

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates in nm.
    faces : (m, 3) int ndarray
        Triangles.
    chunk : int, default 2**20
        Faces per partial sum (each summed by numpy, then the partial sums in order).

    Returns
    -------
    float
        Area in nm².

    Raises
    ------
    MeshError
        Arrays not shaped (n, 3) and (m, 3), or a face index outside ``[0, n)``.
    """
    vertices = np.ascontiguousarray(vertices, np.float64)
    faces = np.ascontiguousarray(faces, np.int64)
    check_triangles(vertices, faces)
    total = 0.0
    for s in range(0, len(faces), chunk):
        total += 0.5 * float(_cross_norms(vertices, faces[s:s + chunk]).sum())
    return total


@njit(cache=True)
def _cross_norms(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """``|(p1 - p0) x (p2 - p0)|`` of every face (twice its area, nm²)."""
    out = np.empty(len(faces))
    for i in range(len(faces)):
        out[i] = cross_norm(vertices, faces[i, 0], faces[i, 1], faces[i, 2], faces[i, 0])
    return out


def target_faces(area_nm2: float, faces_per_um2: float) -> int:
    """Number of faces of a surface of ``area_nm2`` nm² at ``faces_per_um2`` faces per µm².

    Parameters
    ----------
    area_nm2 : float
        Surface area in nm².
    faces_per_um2 : float
        Processing resolution in faces per µm².

    Returns
    -------
    int
        At least 4.
    """
    return max(4, int(np.ceil(area_nm2 / 1e6 * faces_per_um2)))


def coarsen(vertices: np.ndarray, faces: np.ndarray, faces_per_um2: float = FACES_PER_UM2,
            tolerance: float = TOLERANCE_NM, area_nm2: float | None = None) -> tuple[np.ndarray, np.ndarray, str] | None:
    """Simplify a mesh finer than ``faces_per_um2``, or a refinement of a coarser mesh
    (:data:`CREASE_FRACTION`), as far as ``tolerance`` allows.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates in nm (duplicates merged: a decimation treats unmerged vertices
        as borders).
    faces : (m, 3) int ndarray
        Triangles.
    faces_per_um2 : float, default :data:`FACES_PER_UM2`
        Processing resolution in faces per µm² of surface.
    tolerance : float, default :data:`TOLERANCE_NM`
        How far (nm) a collapse may move the surface (see the module docstring); the result
        may have more or fewer faces than ``faces_per_um2`` asks.
    area_nm2 : float, optional
        Surface area in nm², when known.

    Returns
    -------
    (vertices, faces, method) or None
        The decimated mesh (float64 vertices in nm, int64 faces) and the decimator used
        (``"manifold"`` or ``"quadric"``, see the module docstring), or None when the mesh is
        at or below the resolution and not a refinement of a coarser one (left untouched).

    Raises
    ------
    MeshError
        A non-positive resolution, tolerance or area, or arrays that are not a mesh (empty, wrong
        shapes, NaN or infinite vertices, faces that are not integers or index outside the
        vertices, no face with area).
    """
    faces_per_um2 = check_number(faces_per_um2, "resolution", "faces per µm²", positive=True, error=MeshError)
    tolerance = check_number(tolerance, "tolerance", "nm", positive=True, error=MeshError)
    vertices, faces = validate_arrays(vertices, faces)
    if area_nm2 is not None:
        area_nm2 = check_number(area_nm2, "area_nm2", "nm²", positive=True, error=MeshError)
    return _coarsen(vertices, faces, float(faces_per_um2), float(tolerance),
                    surface_area(vertices, faces) if area_nm2 is None else float(area_nm2))


def _coarsen(vertices: np.ndarray, faces: np.ndarray, faces_per_um2: float, tolerance: float,
             area: float) -> tuple[np.ndarray, np.ndarray, str] | None:
    """:func:`coarsen` on arrays already checked (float64 vertices, int64 faces in range: what
    :func:`neurograph.repair` passes after its own checks) and a surface ``area`` in nm²."""
    target = target_faces(area, faces_per_um2)
    if len(faces) <= target:
        if crease_fraction(vertices, faces, tolerance) < CREASE_FRACTION:
            return None
    centre = vertices.mean(axis=0)
    labels = vertex_components(len(vertices), faces)  # input pieces: no decimation may remove one
    closed = _manifold_simplify(vertices - centre, faces, tolerance, labels)
    if closed is not None:
        return closed[0] + centre, closed[1], "manifold"
    # coordinates scaled so that fast-simplification's schedule (which the results were validated
    # with; quadric.simplify reproduces that library bit for bit with conditioning=0, here it runs
    # with CONDITIONING) ends at 6 * tolerance**2
    scale = np.sqrt(_LAST_THRESHOLD / _PLANES) / tolerance
    out_v, out_f = (vertices - centre) * scale, faces
    origin = np.arange(len(vertices), dtype=np.int64)  # input vertex of each output vertex
    if len(out_f) > _STAGED * target:  # far finer than the floor: first down in quarters
        while len(out_f) > _STAGE_STOP * target:
            want = max(len(out_f) // _STAGE_FACTOR, _STAGE_STOP * target)
            out_v, out_f, kept = simplify(out_v, out_f, FS_SCHEDULE, target_count=want, conditioning=CONDITIONING,
                                          return_index=True)
            origin = origin[kept]
            if len(out_f) > want:  # the tolerance stopped it first
                break
    for _ in range(_PASSES):  # as far as the tolerance allows (the density only decides whether)
        out_v, out_f, kept = simplify(out_v, out_f, FS_SCHEDULE, conditioning=CONDITIONING, return_index=True)
        origin = origin[kept]
    out_v /= scale
    out_v += centre
    alive = np.zeros(int(labels.max()) + 1, bool)
    alive[labels[origin]] = True
    return (*_append_lost_pieces(vertices, faces, labels, alive, out_v, out_f), "quadric")


def _append_lost_pieces(vertices: np.ndarray, faces: np.ndarray, labels: np.ndarray, alive: np.ndarray,
                        out_v: np.ndarray, out_f: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The decimated mesh ``out_v, out_f`` with every input piece not ``alive`` appended as it was.

    A decimation can remove a whole piece: quadric decimation collapses a small flat one (a loose
    triangle or plate of a few faces, common in chunked EM exports) to nothing, ``manifold3d``
    simplifies a small closed one away and drops one without volume. The same piece at a coarser
    tessellation, at or below the resolution, is left alone, so whether it counted depended on the
    tessellation; which pieces are debris is :func:`neurograph.repair`'s piece selection to decide.
    ``labels``: the piece of each input vertex (:func:`~neurograph.mesh.components.vertex_components`);
    ``alive``: per piece, whether the decimated mesh holds it."""
    lost = faces[~alive[labels[faces[:, 0]]]]
    if not len(lost):
        return out_v, out_f
    used, local = np.unique(lost, return_inverse=True)
    return (np.vstack([out_v, vertices[used]]),
            np.vstack([out_f, local.reshape(-1, 3).astype(np.int64) + len(out_v)]))


def crease_fraction(vertices: np.ndarray, faces: np.ndarray, tolerance: float = TOLERANCE_NM) -> float:
    """Fraction of the mesh's vertices that lie on a straight crease of its surface, at ``tolerance``.

    Collapsing vertex ``a`` onto a neighbour ``b`` moves it off the planes of its faces by
    ``sum_f (n_f . (b - a))**2`` over its faces ``f`` (unit normals ``n_f``; the quadric error of
    the collapse, written from ``a``'s own position, so that no large coordinates cancel). ``a``
    lies on a straight crease when some neighbour takes it within ``tolerance**2`` and some other
    does not: it sits on a straight line between two surfaces that meet at an angle, where an
    edge of a coarser mesh ran (every midpoint a subdivision inserts on a curved mesh is one). A
    vertex that every neighbour takes lies inside a flat patch (a voxel face of a marching-cubes
    mesh, a wide flat soma); one that none takes carries the geometry. Neither counts.

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates in nm.
    faces : (m, 3) int ndarray
        Triangles (indices checked: a MeshError for any outside the vertices).
    tolerance : float, default :data:`TOLERANCE_NM`
        Geometric tolerance in nm (positive).

    Returns
    -------
    float
        Crease vertices over the vertices on faces (0 for a mesh without faces).

    Raises
    ------
    MeshError
        Arrays not shaped (n, 3) and (m, 3), face indices outside ``[0, n)`` or a tolerance that
        is not a positive number.
    """
    tolerance = check_number(tolerance, "tolerance", "nm", positive=True, error=MeshError)
    vertices = np.ascontiguousarray(vertices, np.float64)
    faces = np.ascontiguousarray(faces, np.int64)
    check_triangles(vertices, faces)
    crease, used = _count_creases(vertices, faces, float(tolerance) ** 2)
    return crease / used if used else 0.0


@njit(cache=True, error_model="numpy")
def _count_creases(vertices: np.ndarray, faces: np.ndarray, max_error: float) -> tuple[int, int]:
    """:func:`crease_fraction`'s counts: crease vertices and vertices on faces. Each vertex sums
    ``n n^T`` over its faces (:func:`~neurograph.mesh.quadric.add_plane`); each directed edge
    ``(a, b)`` of a face is tried both ways. Faces without area add nothing."""
    n = vertices.shape[0]
    Q = np.zeros((n, 10))  # plane quadrics through each vertex (d = 0: only their n n^T part is read)
    used = np.zeros(n, np.bool_)
    for i in range(faces.shape[0]):
        a, b, c = faces[i, 0], faces[i, 1], faces[i, 2]
        u0, u1, u2 = vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1], vertices[b, 2] - vertices[a, 2]
        w0, w1, w2 = vertices[c, 0] - vertices[a, 0], vertices[c, 1] - vertices[a, 1], vertices[c, 2] - vertices[a, 2]
        x, y, z = u1 * w2 - u2 * w1, u2 * w0 - u0 * w2, u0 * w1 - u1 * w0
        norm = np.sqrt(x * x + y * y + z * z)
        for k in range(3):
            used[faces[i, k]] = True
        if norm == 0:
            continue
        for k in range(3):
            add_plane(Q, faces[i, k], x / norm, y / norm, z / norm, 0.0)
    near = np.zeros(n, np.bool_)  # some neighbour takes it within the tolerance
    far = np.zeros(n, np.bool_)  # some neighbour does not
    for i in range(faces.shape[0]):
        for k in range(3):
            a, b = faces[i, k], faces[i, (k + 1) % 3]
            d0, d1, d2 = vertices[b, 0] - vertices[a, 0], vertices[b, 1] - vertices[a, 1], vertices[b, 2] - vertices[a, 2]
            for q in (a, b):
                e = (Q[q, 0] * d0 * d0 + Q[q, 4] * d1 * d1 + Q[q, 7] * d2 * d2
                     + 2.0 * (Q[q, 1] * d0 * d1 + Q[q, 2] * d0 * d2 + Q[q, 5] * d1 * d2))
                if e <= max_error:
                    near[q] = True
                else:
                    far[q] = True
    return int((near & far).sum()), int(used.sum())


def _manifold_simplify(vertices: np.ndarray, faces: np.ndarray, tolerance: float,
                       labels: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Topology-preserving simplification of a closed 2-manifold (centred coordinates, nm), or
    None when the mesh is not one (``manifold3d`` checks it in C++: ~0.4 s at 1.3M faces). A
    piece (``labels``: the piece of each vertex) that ``manifold3d`` removes (a small blob
    simplified away, or a closed piece without volume, which it drops on construction) is
    appended as it was."""
    import manifold3d

    if len(vertices) >= 2 ** 32:  # pragma: no cover - uint32 indices
        return None
    if not _edges_pair_up(faces):  # certainly not one: spare manifold3d's build (~2 s at 5M faces)
        return None
    mesh = manifold3d.Mesh(vert_properties=np.asarray(vertices, np.float32), tri_verts=np.asarray(faces, np.uint32))
    solid = manifold3d.Manifold(mesh)
    if solid.status() != manifold3d.Error.NoError or solid.is_empty():
        return None
    out = solid.simplify(tolerance).to_mesh()
    out_v, out_f = np.asarray(out.vert_properties, np.float64)[:, :3], np.asarray(out.tri_verts, np.int64)
    if labels.max() > 0 or not len(out_f):
        alive = _surviving_pieces(np.asarray(vertices, np.float32), labels,
                                  np.asarray(out.vert_properties, np.float32)[:, :3], out_f)
        if alive is not None:
            out_v, out_f = _append_lost_pieces(vertices, faces, labels, alive, out_v, out_f)
    return out_v, out_f


def _surviving_pieces(table: np.ndarray, labels: np.ndarray, rows: np.ndarray,
                      out_faces: np.ndarray) -> np.ndarray | None:
    """Which input pieces (``labels`` of the input vertices ``table``) survive in the simplified
    mesh (vertices ``rows``, faces ``out_faces``); None when that cannot be told.

    ``manifold3d``'s simplification only removes vertices, so each output vertex equals an input
    vertex bit for bit (float32): the input rows are sorted as 12-byte keys and each output row
    looked up. Pieces can share a coordinate (touching pieces, a shell and its copy), so each
    output piece takes the input piece that the most of its vertices can be, one output piece per
    input piece (the best-supported pairs first). An output vertex with no equal input vertex
    would mean the claim does not hold: None, and nothing is appended."""
    key = np.ascontiguousarray(table).view(np.dtype((np.void, table.dtype.itemsize * 3))).ravel()
    want = np.ascontiguousarray(rows).view(key.dtype).ravel()
    order = np.argsort(key, kind="stable")
    ordered = key[order]
    lo = np.searchsorted(ordered, want, side="left")
    hi = np.searchsorted(ordered, want, side="right")
    if len(want) and (hi <= lo).any():
        return None
    out_piece = vertex_components(len(rows), out_faces)
    span = hi - lo
    # every (output vertex, input vertex of the same coordinates) pair, as (output piece, input piece)
    row = np.repeat(np.arange(len(want)), span)
    at = np.arange(span.sum()) - np.repeat(np.cumsum(span) - span, span) + np.repeat(lo, span)
    pairs = np.column_stack([out_piece[row], labels[order[at]]])
    pair, votes = np.unique(pairs, axis=0, return_counts=True)
    alive = np.zeros(int(labels.max()) + 1, bool)
    taken = np.zeros(int(out_piece.max()) + 1 if len(out_piece) else 0, bool)
    for k in np.argsort(-votes, kind="stable"):
        o, i = pair[k]
        if not taken[o] and not alive[i]:
            taken[o] = alive[i] = True
    return alive


def _edges_pair_up(faces: np.ndarray) -> bool:
    """False when some directed edge (a, b) of the triangles occurs more often than (b, a): then
    the mesh is no closed, consistently oriented 2-manifold (whose edges pair up exactly) and
    ``manifold3d`` would refuse it. True otherwise, which ``manifold3d`` then checks in full.
    A hash of every directed edge, summed modulo 2**64, against the same of the reversed edges:
    one pass in Numba, no sort."""
    faces = np.ascontiguousarray(faces, np.int64)
    return bool(_edge_hash_sums_agree(faces, HASH_PRIMES)) if len(faces) else True


@njit(cache=True)
def _edge_hash_sums_agree(faces: np.ndarray, primes: np.ndarray) -> bool:
    """:func:`_edges_pair_up`'s two sums in one pass (unsigned 64-bit arithmetic wraps as numpy's
    does, and a sum modulo 2**64 does not depend on its order: the same answer)."""
    p0, p1, p2 = primes[0], primes[1], primes[2]
    forward = np.uint64(0)
    reverse = np.uint64(0)
    for i in range(faces.shape[0]):
        for j in range(3):
            a = np.uint64(faces[i, j])
            b = np.uint64(faces[i, (j + 1) % 3])
            forward += ((a * p0) ^ (b * p1)) * p2
            reverse += ((b * p0) ^ (a * p1)) * p2
    return forward == reverse
