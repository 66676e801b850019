"""SWC skeletons -> :class:`Neuron`: somata, rerooting, then the usual branch decomposition.

The parser (:func:`neurograph.io.swc.read_swc`) gives a table in nm; this module turns it
into a rooted :class:`~neurograph.Skeleton`:

- every connected group of soma nodes (SWC type 1: a single point, the three-point
  NeuroMorpho soma, a soma contour or a chain of soma cylinders) becomes one soma node at
  the group's centroid, with radius ``max(largest node radius, median distance of the
  group's nodes to the centroid)``;
- each tree is re-rooted at its soma (the navis/hemibrain example files put the soma in the
  middle of the tree), trees without a soma keep their own root (several roots allowed);
- a file without soma nodes gives ``somas=[]`` and the root(s) as they are.
"""

from __future__ import annotations

import os
import warnings
from typing import Sequence

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import breadth_first_order, connected_components

from ..errors import DataWarning, FormatError, InputError, UnitsWarning, check_number
from ..io.units import check_extent
from ..io.swc import read_swc
from ..mesh.soma import Soma
from ..skeleton import Skeleton
from .neuron import Neuron, decompose

SOMA_TYPE = 1
#: no cell body is larger than this (nm); the largest (motor neurons, Purkinje) are ~50 µm across
MAX_SOMA_RADIUS_NM = 100_000.0
#: nor smaller than this (nm); the smallest (cerebellar granule cells, insect neurons) are ~2 µm in radius
MIN_SOMA_RADIUS_NM = 500.0


def _components(n: int, a: np.ndarray, b: np.ndarray) -> tuple[int, np.ndarray]:
    adj = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(adj, directed=False)


def swc_skeleton(table: pd.DataFrame, soma_radius: float | None = None,
                 name: str = "swc") -> tuple[Skeleton, list[Soma]]:
    """Build a rooted skeleton and its somata from an SWC table in nm.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`neurograph.io.swc.read_swc` (nm, radius NaN where unknown).
    soma_radius : float, optional
        Soma radius in nm, overriding the file's (used when the file gives none).
    name : str
        For error messages.

    Returns
    -------
    skeleton : Skeleton
        Soma nodes first (``0..k-1``), each a root; ``node_type`` keeps the SWC types.
    somas : list of Soma
        One per soma node, ``faces`` empty. Radius 0 when neither the file nor
        ``soma_radius`` gives one (then branches start at the soma centre).

    Warns
    -----
    DataWarning
        Several somata in one tree: the links between them that the re-rooting cuts (half-way
        along the cable between two somata) are named.

    Raises
    ------
    FormatError
        An empty table, or parent links with a cycle.
    """
    if len(table) == 0:
        raise FormatError(f"{name}: the SWC table has no nodes")
    ids = table["node_id"].to_numpy(np.int64)
    sorter = np.argsort(ids)
    par_ids = table["parent_id"].to_numpy(np.int64)
    has_parent = par_ids >= 0
    parent = np.full(len(ids), -1, np.int64)
    parent[has_parent] = sorter[np.searchsorted(ids, par_ids[has_parent], sorter=sorter)]
    xyz = table[["x", "y", "z"]].to_numpy(float)
    radius = table["radius"].to_numpy(float)
    types = table["type"].to_numpy(np.int64)
    n = len(ids)
    # Every tree needs exactly one root; a group of nodes without one is a cycle of parent links.
    n_comp0, comp0 = _components(n, np.flatnonzero(has_parent), parent[has_parent])
    rootless = np.setdiff1d(np.arange(n_comp0), comp0[~has_parent])
    if len(rootless):
        k0 = int(np.flatnonzero(comp0 == rootless[0])[0])
        raise FormatError(f"{name}: the SWC parent links contain a cycle (node {ids[k0]} and "
                          f"{int((comp0 == rootless[0]).sum()) - 1} other(s) never reach a root); each tree "
                          "needs one node with parent -1")

    # 1. Collapse each connected group of soma nodes into one node.
    soma_idx = np.flatnonzero(types == SOMA_TYPE)
    both = has_parent.copy()
    both[has_parent] &= (types[has_parent] == SOMA_TYPE) & (types[parent[has_parent]] == SOMA_TYPE)
    child = np.flatnonzero(both)
    k, group_of = 0, np.full(n, -1, np.int64)
    if len(soma_idx):
        local = np.full(n, -1, np.int64)
        local[soma_idx] = np.arange(len(soma_idx))
        k, labels = _components(len(soma_idx), local[child], local[parent[child]])
        group_of[soma_idx] = labels
    new_id = np.empty(n, np.int64)
    is_soma = group_of >= 0
    new_id[is_soma] = group_of[is_soma]
    new_id[~is_soma] = k + np.arange(int((~is_soma).sum()))
    m = k + int((~is_soma).sum())

    somas: list[Soma] = []
    vertices = np.empty((m, 3))
    new_radius = np.full(m, np.nan)
    node_type = np.zeros(m, np.int8)
    vertices[new_id[~is_soma]] = xyz[~is_soma]
    new_radius[new_id[~is_soma]] = radius[~is_soma]
    node_type[new_id[~is_soma]] = np.clip(types[~is_soma], -128, 127)
    for g in range(k):
        members = soma_idx[group_of[soma_idx] == g]
        centre = xyz[members].mean(axis=0)
        r_nodes = radius[members]
        r = np.nanmax(r_nodes) if np.isfinite(r_nodes).any() else 0.0
        if len(members) > 1:
            r = max(r, float(np.median(np.linalg.norm(xyz[members] - centre, axis=1))))
        if soma_radius is not None:
            r = float(soma_radius)
        vertices[g], new_radius[g], node_type[g] = centre, r if r > 0 else np.nan, SOMA_TYPE
        somas.append(Soma(center=centre, radius=float(r), faces=np.empty(0, np.int64)))

    # 2. Undirected edges of the collapsed forest; every tree must stay a tree.
    a, b = new_id[has_parent], new_id[parent[has_parent]]
    keep = a != b
    a, b = a[keep], b[keep]
    if len(a):
        pair = np.unique(np.sort(np.column_stack([a, b]), axis=1), axis=0)
        a, b = pair[:, 0], pair[:, 1]
    n_comp, comp = _components(m, a, b)
    if len(a) != m - n_comp:
        raise FormatError(f"{name}: the SWC parent links contain a cycle ({len(a)} edges for {m} nodes in "
                          f"{n_comp} trees); each node must have one parent and the links must form trees")

    # 3. Re-root each tree at its soma (or keep its own root), breadth first from a virtual root.
    old_roots = new_id[~has_parent]
    roots = list(range(k))
    comps_with_soma = set(comp[:k].tolist())
    for r in np.unique(old_roots):
        if comp[r] not in comps_with_soma:
            roots.append(int(r))
            comps_with_soma.add(comp[r])  # one root per tree
    rows = np.concatenate([a, b, np.full(len(roots), m)])
    cols = np.concatenate([b, a, roots])
    adj = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(m + 1, m + 1)).tocsr()
    _, pred = breadth_first_order(adj, m, directed=True, return_predecessors=True)
    new_parent = pred[:m].astype(np.int64)
    new_parent[new_parent == m] = -1
    new_parent[new_parent < 0] = -1
    cut = (new_parent[a] != b) & (new_parent[b] != a)  # links between two somata of one tree
    if cut.any():
        file_id = np.empty(m, np.int64)
        file_id[new_id] = ids  # a soma group: one of its nodes
        links = ", ".join(f"{file_id[i]}-{file_id[j]}" for i, j in zip(a[cut][:5], b[cut][:5]))
        per_tree = np.bincount(comp[:k])
        shared = per_tree[per_tree > 1]
        warnings.warn(f"{name}: {int(shared.sum())} somata (type-1 nodes not joined to each other) share "
                      f"{len(shared)} tree(s); every soma becomes a root, so {int(cut.sum())} link(s) between them "
                      f"were cut half-way along the cable (node ids {links}), and that cable is no longer joined. A "
                      "merged skeleton, or a node mislabelled as soma? Fix the types, or cut at the evidence with "
                      "neurograph.split_somas / neurograph.proofread", DataWarning, stacklevel=3)
    skeleton = Skeleton(vertices, new_parent, new_radius, None, np.arange(k, dtype=np.int64), node_type)
    return skeleton, somas


def radius_known_fraction(skeleton: Skeleton) -> float:
    """Fraction of non-soma nodes with a known (finite, > 0) radius; 0 for a radius-less
    skeleton (1 when there are no such nodes)."""
    rest = np.ones(skeleton.n_nodes, bool)
    rest[skeleton.soma_nodes] = False
    r = skeleton.radius[rest]
    return float(np.mean(np.isfinite(r) & (r > 0))) if len(r) else 1.0


def load_swc(path: str | os.PathLike, units: str | None = None, voxel_size: float | Sequence[float] | None = None,
             name: str | None = None, soma_radius: float | None = None, dataset: str | None = None,
             heal: bool | float = False) -> Neuron:
    """Load an SWC skeleton as a :class:`Neuron` (branches and features, no mesh).

    Parameters
    ----------
    path : str or PathLike
        The ``.swc`` file. Comment lines, an uncommented header line, several roots, a
        missing soma, radius ``-1``/``0`` (unknown) and a soma in the middle of the tree
        are all handled. A file without radii (column all 0, -1, NaN, missing, or one
        constant placeholder value, as written by the CAVE skeleton service / pcg_skel) is
        loaded as radius-less, with a warning: widths are NaN (the soma radius too, unless
        ``soma_radius`` is given), and :func:`neurograph.label_compartments` and
        :func:`neurograph.map_synapses` use their radius-free rules.
    units : {"nm", "um", "µm", "voxel"}, optional
        Units of the file's coordinates and radii. Required unless ``dataset`` gives them:
        SWC does not record units.
        FAFB/CATMAID, FlyWire and MICrONS skeletons are usually nm; NeuroMorpho.Org µm;
        hemibrain/neuPrint (and the navis example files) 8 nm voxels.
    voxel_size : float or (3,) floats, optional
        nm per voxel with ``units="voxel"``.
    name : str, optional
        Defaults to the file stem.
    soma_radius : float, optional
        Soma radius in nm, overriding the file's.
    dataset : str, optional
        Dataset profile (:mod:`neurograph.datasets`): its ``swc_units`` and
        ``swc_voxel_size`` fill ``units`` and ``voxel_size`` when they are not given (e.g.
        ``"fafb"``: nm, ``"hemibrain"``: 8 nm voxels, ``"neuromorpho"``: µm). Recorded, with
        the final units, in ``neuron.settings``.
    heal : bool or float
        Join a skeleton that comes in pieces into one tree rooted at the soma
        (:func:`neurograph.heal`): ``True`` joins gaps up to 5 µm, a number is the largest
        gap in µm. The joins are in ``repair_report["heal"]``. Default False: pieces stay.

    Returns
    -------
    Neuron
        In nm, ``mesh=None``: mesh-only branch columns (``area``, ``n_faces``) are NaN/0
        and widths come from the SWC radii (NaN where the file has none).
        ``repair_report["radius_known"]`` is the fraction of non-soma nodes with a radius.

    Warns
    -----
    UnitsWarning
        The tree spans less than 1 µm or more than 100 mm, or a soma's radius is over 100 µm
        or under 0.5 µm, in the given units: ``units`` is probably wrong.
    DataWarning
        Several somata (type-1 nodes not joined to each other) in one tree: every soma becomes a
        root, so the tree is cut between them (:func:`swc_skeleton`).

    Raises
    ------
    FormatError
        Malformed SWC (see :func:`neurograph.io.swc.read_swc`) or parent links with a cycle.
    InputError
        Unknown units or dataset, no units, or a bad voxel size.
    """
    from ..datasets import get_profile

    profile = get_profile(dataset)
    if units is None:
        if profile is None:
            raise InputError(f"{os.fspath(path)}: give the SWC units (units='nm', 'um' or 'voxel') or a "
                             "dataset profile (dataset='fafb', 'hemibrain', 'neuromorpho', ...): SWC files "
                             "do not record their units")
        units = profile.swc_units
        if voxel_size is None and profile.swc_voxel_size is not None:
            voxel_size = profile.swc_voxel_size
    if soma_radius is not None:
        soma_radius = check_number(soma_radius, "soma_radius", "nm", positive=True)
    table = read_swc(path, units=units, voxel_size=voxel_size)
    name = name or os.path.splitext(os.path.basename(os.fspath(path)))[0]
    check_extent(table[["x", "y", "z"]].to_numpy(float), "swc", f"SWC {name!r} (units={units!r})", error=False)
    skeleton, somas = swc_skeleton(table, soma_radius=soma_radius, name=name)
    big = [s.radius for s in somas if s.radius > MAX_SOMA_RADIUS_NM]
    small = [s.radius for s in somas if 0 < s.radius < MIN_SOMA_RADIUS_NM]
    if big:
        warnings.warn(f"SWC {name!r}: soma radius {max(big) / 1e3:.3g} µm is larger than any cell body "
                      f"(units={units!r}); the file is probably in smaller units (units='nm', or 'voxel')",
                      UnitsWarning, stacklevel=2)
    elif small and soma_radius is None:
        warnings.warn(f"SWC {name!r}: soma radius {min(small):.3g} nm is smaller than any cell body "
                      f"(units={units!r}); if the file's soma radius is real, its coordinates are probably in "
                      "larger units (units='voxel' with voxel_size=8 for hemibrain, or units='um')",
                      UnitsWarning, stacklevel=2)
    report = {"source": "swc", "path": os.fspath(path), "units": units,
              "voxel_size": None if voxel_size is None else np.ravel(voxel_size).tolist(),
              "radius_known": radius_known_fraction(skeleton)}
    settings = {"dataset": None if profile is None else profile.name, "units": units,
                "voxel_size": report["voxel_size"], "soma_radius": soma_radius,
                "swc_radii": bool(np.isfinite(np.asarray(skeleton.radius, float)).any()
                                  and (np.asarray(skeleton.radius, float) > 0).any())}
    if heal is not False and heal is not None:  # heal the skeleton, then decompose once
        from ..skeleton.heal import heal_skeleton
        from .heal import MAX_GAP_UM, heal_record, max_gap_nm

        gap = MAX_GAP_UM if heal is True else heal
        healed, joins = heal_skeleton(skeleton, max_gap_nm(gap, what="heal"))
        max_gap_um = float(gap)
        report["heal"] = heal_record(skeleton, healed, joins, max_gap_um)
        settings["heal_max_gap_um"] = max_gap_um
        skeleton = healed
    neuron = decompose(skeleton, somas, None, name=name)
    neuron.repair_report = report
    neuron.settings = settings
    return neuron
