"""Processing resolution ("resolution floor"): a mesh finer than a physical resolution is
coarsened to it before the expensive steps, so that results follow the geometry and not the
tessellation of the input.

The same surface can arrive with 80 thousand or 5 million triangles (a decimated export, the
full-resolution segmentation mesh, a subdivided copy). Somata, skeleton and above all spine
detection sample the surface at its vertices, so a finer tessellation of the same surface gave
other results (issue 13: the MICrONS example cell gave 184 branches and 566 spines as
exported, 139 and 803 at 4x the faces). NEURD and MeshParty decimate every mesh before anything
else; here the target is physical:

* a *density* in faces per µm² of surface (:data:`FACES_PER_UM2`): meshes at or below it are
  left untouched (bit for bit), finer ones are decimated towards it;
* a *geometric tolerance* in nm (:data:`TOLERANCE_NM`): quadric decimation never collapses an
  edge whose quadric error (the sum of squared distances of the new vertex to the planes of
  the original faces merged into it) exceeds ``tolerance**2``. Where the surface is curved at a
  small scale (spine necks and heads, ~50-200 nm across) the decimation stops before the
  density is reached, so fine structure is kept while flat and gently curved surface (shafts,
  somata) is coarsened. 10 nm is about one EM voxel (4 x 4 x 40 nm MICrONS, 8 nm hemibrain),
  the precision of the segmentation the meshes come from.
"""

from __future__ import annotations

import numpy as np

from ..errors import MeshError

FACES_PER_UM2 = 30.0
"""Default processing resolution in faces per µm² of surface (an equilateral triangle of
~280 nm edges). Chosen from measurements (README "Scaling (issue 13)"): the MICrONS example mesh
(26.1 faces/µm², median edge 253 nm) and the hemibrain meshes (~3 faces/µm²) are below it and
untouched; the MICrONS mesh subdivided to 4x and 16x the faces, decimated to it, gives the
branch, cable and spine counts of the original within 5 %."""

TOLERANCE_NM = 10.0
"""Default geometric tolerance of the decimation in nm (about one EM voxel)."""

# fast_simplification raises its collapse threshold each pass as 1e-9 * (pass + 3) ** AGG for
# at most 100 passes; coordinates are scaled so that the last threshold is tolerance**2 (nm²).
_AGG = 7.0
_LAST_THRESHOLD = 1e-9 * 102.0 ** _AGG


def surface_area(vertices: np.ndarray, faces: np.ndarray, chunk: int = 1 << 20) -> float:
    """Total triangle area, in chunks (no (m, 3, 3) copy of a mesh of millions of faces).

    Parameters
    ----------
    vertices : (n, 3) float ndarray
        Vertex coordinates in nm.
    faces : (m, 3) int ndarray
        Triangles.
    chunk : int, default 2**20
        Faces per chunk.

    Returns
    -------
    float
        Area in nm².
    """
    total = 0.0
    for s in range(0, len(faces), chunk):
        f = faces[s:s + chunk]
        a = vertices[f[:, 0]]
        cross = np.cross(vertices[f[:, 1]] - a, vertices[f[:, 2]] - a)
        total += 0.5 * float(np.sqrt(np.einsum("ij,ij->i", cross, cross)).sum())
    return total


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
            tolerance: float = TOLERANCE_NM, area_nm2: float | None = None) -> tuple[np.ndarray, np.ndarray] | None:
    """Decimate a mesh finer than ``faces_per_um2`` towards that resolution.

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
        Largest quadric error of a collapse, as a distance in nm (see the module docstring):
        where keeping the surface within it needs more faces, the result has more faces than
        the density asks.
    area_nm2 : float, optional
        Surface area in nm², when known.

    Returns
    -------
    (vertices, faces) or None
        The decimated mesh (float64 vertices in nm, int64 faces), or None when the mesh is at
        or below the resolution (left untouched).

    Raises
    ------
    MeshError
        A non-positive resolution or tolerance, or ``fast-simplification`` missing.
    """
    if not (faces_per_um2 > 0 and np.isfinite(faces_per_um2)):
        raise MeshError(f"resolution must be a positive number of faces per µm², got {faces_per_um2!r}")
    if not (tolerance > 0 and np.isfinite(tolerance)):
        raise MeshError(f"tolerance must be a positive distance in nm, got {tolerance!r}")
    area = surface_area(vertices, faces) if area_nm2 is None else float(area_nm2)
    target = target_faces(area, faces_per_um2)
    if len(faces) <= target:
        return None
    try:
        import fast_simplification
    except ImportError as exc:  # pragma: no cover - dependency is declared
        raise MeshError("the resolution floor needs 'fast-simplification': pip install fast-simplification") from exc
    centre = vertices.mean(axis=0)
    scale = np.sqrt(_LAST_THRESHOLD) / tolerance  # quadric errors in these units: the last pass's threshold = tol²
    out_v, out_f = fast_simplification.simplify((vertices - centre) * scale, np.asarray(faces, np.int32),
                                                target_count=target, agg=_AGG)
    out_v /= scale
    out_v += centre
    return out_v, out_f.astype(np.int64)
