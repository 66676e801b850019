"""Map chosen synapses again onto a subset of the mesh's faces (e.g. the axon's)."""

from __future__ import annotations

import numpy as np

from ..skeleton.tree import path_from_soma
from .mapping import face_node, branch_synapse_counts, closest_surface_points


def remap_onto_faces(neuron, rows: np.ndarray, faces: np.ndarray, tolerance: float) -> np.ndarray:
    """Move synapses ``rows`` of ``neuron.synapses`` to the nearest of ``faces``, where it is
    within ``tolerance``; the table and the branches' synapse counts are updated in place.

    Parameters
    ----------
    neuron : Neuron
        Mapped onto its mesh (:func:`neurograph.map_synapses`), with ``face_branch``.
    rows : (k,) int ndarray
        Row positions in ``neuron.synapses`` to consider.
    faces : (m,) int ndarray
        Mesh faces allowed.
    tolerance : float
        Largest distance (nm) from a synapse to an allowed face for the move.

    Returns
    -------
    (j,) int64 ndarray
        Row positions of the synapses moved (their ``face, node, branch, soma, spine,
        spine_part, on_spine, distance_to_mesh_nm, path_to_soma`` now describe the new face;
        they are off any spine).
    """
    syn = neuron.synapses
    rows = np.asarray(rows, np.int64)
    faces = np.asarray(faces, np.int64)
    if not len(rows) or not len(faces) or neuron.mesh is None or neuron.face_branch is None:
        return np.empty(0, np.int64)
    mesh = neuron.mesh
    sub = mesh.submesh([faces], append=True)  # keeps the order of ``faces``
    pts = syn[["x", "y", "z"]].to_numpy(float)[rows]
    closest, dist, f = closest_surface_points(sub, pts)
    ok = dist <= tolerance
    if not ok.any():
        return np.empty(0, np.int64)
    rows, closest, dist, face = rows[ok], closest[ok], dist[ok], faces[f[ok]]
    face_branch = np.asarray(neuron.face_branch, np.int64)
    branch = face_branch[face]
    sk = neuron.skeleton
    node = face_node(np.asarray(mesh.vertices), np.asarray(mesh.faces)[face], closest,
                      np.asarray(sk.vertex_map, np.int64), np.asarray(neuron.node_branch, np.int64), branch)
    n_somas = len(neuron.somas)
    path = path_from_soma(sk, [so.radius for so in neuron.somas])[node] / 1e3
    idx = syn.index[rows]
    syn.loc[idx, "face"] = face
    syn.loc[idx, "node"] = node
    syn.loc[idx, "branch"] = branch
    syn.loc[idx, "soma"] = np.where(branch < n_somas, branch, -1)
    syn.loc[idx, "spine"] = -1
    syn.loc[idx, "spine_part"] = ""
    syn.loc[idx, "on_spine"] = False
    syn.loc[idx, "distance_to_mesh_nm"] = dist
    syn.loc[idx, "path_to_soma"] = path
    n_ids = int(neuron.node_branch.max()) + 1
    counts = branch_synapse_counts(syn, neuron.branches, n_ids)
    neuron.set_branch_values({b: {k: float(v) if k.endswith("_um") else int(v) for k, v in row.items()}
                              for b, row in zip(counts.index, counts.to_dict("records")) if b in neuron.graph})
    return rows
