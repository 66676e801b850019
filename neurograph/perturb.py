"""Reconstruction-style perturbations of a neuron, for testing that features travel.

Each function returns a new :class:`~neurograph.Neuron` that is the same cell as another
connectome or tracing style would reconstruct it (measured differences between hand-traced
and automatic-segmentation skeletons, issue #11):

- :func:`add_twigs` — many short terminal twigs (automatic skeletons carry ~2.7x the
  branch points of hand-traced ones);
- :func:`fragment` — the skeleton cut into pieces with gaps (several roots, as where
  segmentation breaks a thin neurite); heal it with :func:`neurograph.heal`;
- :func:`resample_spacing` — node spacing changed several-fold;
- :func:`rotate_mirror` — another brain template: rotated, mirrored, moved;
- :func:`set_radii` — radii dropped or set to one constant;
- :func:`drop_soma` — the soma missing (outside the volume, not annotated), the file rooted
  at a random tip (not in :data:`KINDS`; see :func:`neurograph.skeleton.resample.root_at_soma_end`);
- :func:`scale` — every length times one factor (tissue shrinks differently with each
  preparation; not in :data:`KINDS`, see :mod:`neurograph.classify.align`);
- :func:`perturb_all` — all of them at once.

All lengths in nm unless the parameter name says ``_um``. Every function takes a ``seed``
and is deterministic for it. The neuron is never modified; mesh, synapses and spines are not
carried over (the perturbations are of the skeleton).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from .errors import InputError, check_number
from .graph.neuron import Neuron, decompose
from .mesh.soma import Soma
from .skeleton import Skeleton
from .skeleton.resample import resample, subset
from .skeleton.tree import reroot_at, root_labels, topological_order

#: perturbation kinds of :func:`perturb`, in the order of issue #11 (a)-(f)
KINDS = ("twigs", "fragments", "resample", "rotate_mirror", "radii", "all")


class _Form:
    """Skeleton, somata and name: what a perturbation reads and writes (a Neuron is one too;
    :func:`perturb` chains several on these and decomposes into branches once, at the end)."""

    def __init__(self, skeleton: Skeleton, somas: list, name: str) -> None:
        self.skeleton, self.somas, self.name = skeleton, somas, name


def _neuron(skeleton: Skeleton, somas: list, name: str, as_neuron: bool = True):
    if not as_neuron:
        return _Form(skeleton, somas, name)
    return decompose(skeleton, somas, None, name=name)


def _check(neuron: Neuron) -> None:
    if not hasattr(neuron, "skeleton"):
        raise InputError(f"perturbations need a neurograph Neuron, got {type(neuron).__name__}")


def add_twigs(neuron: Neuron, factor: float = 2.7, length_um: tuple[float, float] = (0.3, 3.0),
              spacing_um: float = 0.25, seed: int = 0, _as_neuron: bool = True) -> Neuron:
    """Add short terminal twigs until the neuron has ``factor`` x its branch points.

    Each twig leaves a node with exactly one child (so each adds one branch point), picked
    with probability proportional to the cable it stands for, in a random direction, with a
    length drawn uniformly from ``length_um`` and nodes every ``spacing_um``; its radius is
    that of the node it leaves.

    Parameters
    ----------
    neuron : Neuron
    factor : float
        Target ratio of branch points after / before (>= 1).
    length_um : (float, float)
        Range of twig lengths, µm.
    spacing_um : float
        Node spacing along the twigs, µm.
    seed : int

    Returns
    -------
    Neuron
    """
    _check(neuron)
    if factor < 1:
        raise InputError(f"factor must be >= 1, got {factor!r}")
    rng = np.random.default_rng(seed)
    sk = neuron.skeleton
    n_children = sk.children_count()
    is_soma = np.zeros(sk.n_nodes, bool)
    is_soma[sk.soma_nodes] = True
    n_bp = int(((n_children >= 2) & ~is_soma).sum())
    n_new = int(round((factor - 1) * max(n_bp, 1)))
    candidates = np.flatnonzero((n_children == 1) & ~is_soma & (sk.parent >= 0))
    n_new = min(n_new, len(candidates))
    weight = sk.edge_lengths[candidates] + sk.edge_lengths[np.flatnonzero(sk.parent >= 0)].mean() * 1e-3
    bases = rng.choice(candidates, n_new, replace=False, p=weight / weight.sum())
    lengths = rng.uniform(length_um[0], length_um[1], n_new) * 1e3
    dirs = rng.normal(size=(n_new, 3))
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    step = spacing_um * 1e3
    counts = np.maximum(1, np.ceil(lengths / step).astype(np.int64))
    owner = np.repeat(np.arange(n_new), counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts) + 1  # 1..count per twig
    frac = k / counts[owner]
    xyz = sk.vertices[bases[owner]] + dirs[owner] * (frac * lengths[owner])[:, None]
    new_ids = sk.n_nodes + np.arange(len(owner))
    par = np.where(k == 1, bases[owner], new_ids - 1)
    skeleton = Skeleton(np.vstack([sk.vertices, xyz]), np.r_[sk.parent, par],
                        np.r_[sk.radius, sk.radius[bases[owner]]], None, sk.soma_nodes,
                        np.r_[sk.node_type, sk.node_type[bases[owner]]].astype(np.int8))
    return _neuron(skeleton, neuron.somas, neuron.name, _as_neuron)


def fragment(neuron: Neuron, n_pieces: int = 4, gap_um: tuple[float, float] = (0.2, 5.0),
             seed: int = 0, _as_neuron: bool = True) -> Neuron:
    """Cut the skeleton into ``n_pieces`` pieces separated by gaps of missing cable.

    At each of ``n_pieces - 1`` cut points (picked along the cable, away from the soma) the
    cable below is removed over a path length drawn from ``gap_um`` (the stretch a
    segmentation loses where it breaks a thin neurite, never past a branch point or tip), so
    the piece below starts exactly that much cable away (a new node on the old cable) and
    becomes its own root; the straight gap is at most that long.

    Parameters
    ----------
    neuron : Neuron
        One tree (heal it first if it is not).
    n_pieces : int
        Pieces wanted (>= 1); fewer when the cable offers fewer unbranched stretches.
    gap_um : (float, float)
        Range of the cable length removed at each cut, µm.
    seed : int

    Returns
    -------
    Neuron
        Several roots; the soma stays on its piece.
    """
    _check(neuron)
    if n_pieces < 1:
        raise InputError(f"n_pieces must be >= 1, got {n_pieces!r}")
    rng = np.random.default_rng(seed)
    sk = neuron.skeleton
    parent = sk.parent.copy()
    edge = sk.edge_lengths
    n_children = sk.children_count()
    is_soma = np.zeros(sk.n_nodes, bool)
    is_soma[sk.soma_nodes] = True
    removed = np.zeros(sk.n_nodes, bool)
    cuts = 0
    order = rng.permutation(np.flatnonzero((parent >= 0) & ~is_soma & (n_children == 1)))
    weight = edge[order] / edge[order].sum() if edge[order].sum() > 0 else None
    if weight is not None:
        order = order[np.argsort(-rng.random(len(order)) ** (1.0 / np.maximum(weight, 1e-12)))]
    child_of = np.full(sk.n_nodes, -1, np.int64)
    child_of[parent[parent >= 0]] = np.flatnonzero(parent >= 0)  # the child of one-child nodes
    added_xyz, added_from = [], []  # new piece roots: position, and the node whose radius/type they take
    for start in order:
        if cuts >= n_pieces - 1:
            break
        p0 = parent[start]
        if removed[start] or p0 < 0 or is_soma[p0]:
            continue
        gap = rng.uniform(*gap_um) * 1e3
        path, v, dist = [], int(start), float(edge[start])  # dist: cable from p0 down to v
        while dist < gap and n_children[v] == 1 and not removed[v] and parent[child_of[v]] == v:
            path.append(v)  # walk down the unbranched stretch (not into an earlier cut)
            v = int(child_of[v])
            dist += edge[v]
        if dist < gap or removed[v]:
            continue  # the stretch ends (branch point or tip) before the gap is made
        # the piece below starts exactly `gap` of cable below p0: a new root on the edge above v
        up = sk.vertices[path[-1]] if path else sk.vertices[p0]
        frac = (dist - gap) / edge[v] if edge[v] > 0 else 0.0
        added_xyz.append(sk.vertices[v] + (up - sk.vertices[v]) * frac)
        added_from.append(v)
        removed[path] = True
        parent[v] = sk.n_nodes + len(added_xyz) - 1
        cuts += 1
    added_from = np.asarray(added_from, np.int64)
    vertices = np.vstack([sk.vertices, np.reshape(added_xyz, (-1, 3))])
    parent = np.r_[parent, np.full(len(added_from), -1)]
    cut = Skeleton(vertices, parent, np.r_[sk.radius, sk.radius[added_from]], None, sk.soma_nodes,
                   np.r_[sk.node_type, sk.node_type[added_from]])
    # the removed stretches: nothing below them is kept (each piece below hangs from its new root)
    return _neuron(subset(cut, np.r_[~removed, np.ones(len(added_from), bool)]), neuron.somas, neuron.name,
                   _as_neuron)


def resample_spacing(neuron: Neuron, factor: float, seed: int = 0, _as_neuron: bool = True) -> Neuron:
    """Resample the cable at ``factor`` x the neuron's median node spacing.

    Parameters
    ----------
    neuron : Neuron
    factor : float
        > 0; e.g. 0.25 (4x denser) to 4 (4x sparser). Branch points and tips stay.
    seed : int
        Unused (the resampling is deterministic); accepted for a uniform signature.

    Returns
    -------
    Neuron
    """
    _check(neuron)
    if not factor > 0:
        raise InputError(f"factor must be > 0, got {factor!r}")
    sk = neuron.skeleton
    spacing = float(np.median(sk.edge_lengths[sk.parent >= 0])) * factor
    return _neuron(resample(sk, spacing), neuron.somas, neuron.name, _as_neuron)


def rotate_mirror(neuron: Neuron, mirror: bool = True, seed: int = 0, _as_neuron: bool = True) -> Neuron:
    """Rotate the neuron at random, mirror it (x -> -x) and move it by up to 100 µm.

    Parameters
    ----------
    neuron : Neuron
    mirror : bool
        Also flip handedness.
    seed : int

    Returns
    -------
    Neuron
    """
    _check(neuron)
    rng = np.random.default_rng(seed)
    rot = Rotation.random(random_state=int(rng.integers(2 ** 31))).as_matrix()
    if mirror:
        rot = rot @ np.diag([-1.0, 1.0, 1.0])
    shift = rng.uniform(-1e5, 1e5, 3)
    sk = neuron.skeleton

    def move(x: np.ndarray) -> np.ndarray:
        return x @ rot.T + shift

    skeleton = Skeleton(move(sk.vertices), sk.parent, sk.radius, None, sk.soma_nodes, sk.node_type)
    somas = [Soma(center=move(np.asarray(s.center, float)), radius=s.radius, faces=np.empty(0, np.int64))
             for s in neuron.somas]
    return _neuron(skeleton, somas, neuron.name, _as_neuron)


def set_radii(neuron: Neuron, mode: str = "drop", value: float = 100.0, seed: int = 0, _as_neuron: bool = True) -> Neuron:
    """Drop the radii (NaN, soma radius 0) or set every radius, somata included, to ``value``.

    Parameters
    ----------
    neuron : Neuron
    mode : {"drop", "constant"}
    value : float
        nm, with ``mode="constant"``.
    seed : int
        Unused; accepted for a uniform signature.

    Returns
    -------
    Neuron
    """
    _check(neuron)
    if mode not in ("drop", "constant"):
        raise InputError(f"mode must be 'drop' or 'constant', got {mode!r}")
    sk = neuron.skeleton
    r = np.full(sk.n_nodes, np.nan if mode == "drop" else float(value))
    soma_r = 0.0 if mode == "drop" else float(value)
    skeleton = Skeleton(sk.vertices, sk.parent, r, None, sk.soma_nodes, sk.node_type)
    somas = [Soma(center=np.asarray(s.center, float), radius=soma_r, faces=np.empty(0, np.int64))
             for s in neuron.somas]
    return _neuron(skeleton, somas, neuron.name, _as_neuron)


def scale(neuron: Neuron, factor: float) -> Neuron:
    """The neuron with every length multiplied by ``factor`` (about the origin).

    Skeleton nodes and radii, somata (centre and radius) and the mesh (if any) are scaled;
    synapse, spine and compartment annotations are not carried over (features that need
    them are NaN on the result).

    Parameters
    ----------
    neuron : Neuron
    factor : float
        > 0; e.g. ``1 / 1.2`` to bring a dataset whose tissue is 1.2x larger to the size of
        another.

    Returns
    -------
    Neuron

    Raises
    ------
    InputError
        ``factor`` is not a positive number.
    """
    _check(neuron)
    f = check_number(factor, "scale factor", positive=True)
    sk = neuron.skeleton
    skeleton = Skeleton(sk.vertices * f, sk.parent, sk.radius * f, sk.vertex_map, sk.soma_nodes, sk.node_type)
    somas = [Soma(center=np.asarray(s.center, float) * f, radius=s.radius * f, faces=s.faces,
                  area_density=s.area_density) for s in neuron.somas]
    mesh = None
    if neuron.mesh is not None:
        mesh = neuron.mesh.copy()
        mesh.apply_scale(f)
    out = decompose(skeleton, somas, mesh, name=neuron.name)
    out.settings = dict(neuron.settings)
    return out


def drop_soma(neuron: Neuron, seed: int = 0) -> Neuron:
    """The neuron without its soma nodes, each tree rooted at a random tip.

    What a skeleton looks like when the soma lies outside the imaged volume or is not
    annotated: the stems that left the soma start free, and the root is wherever the file
    puts it (here: a tip drawn with ``seed``).

    Parameters
    ----------
    neuron : Neuron
    seed : int

    Returns
    -------
    Neuron
        No somata; the same non-soma nodes (renumbered), radii and SWC types.
    """
    _check(neuron)
    sk = neuron.skeleton
    keep = np.ones(sk.n_nodes, bool)
    keep[sk.soma_nodes] = False
    idx = np.flatnonzero(keep)
    new_id = np.cumsum(keep) - 1
    par = sk.parent[idx]
    parent = np.where((par >= 0) & keep[np.maximum(par, 0)], new_id[np.maximum(par, 0)], -1)
    rng = np.random.default_rng(seed)
    tips = np.flatnonzero(np.bincount(parent[parent >= 0], minlength=len(parent)) == 0)
    labels = root_labels(topological_order(parent), parent)
    for r in np.flatnonzero(parent < 0):
        mine = tips[labels[tips] == r]
        if len(mine):
            parent = reroot_at(parent, int(rng.choice(mine)))
            labels = root_labels(topological_order(parent), parent)
    skeleton = Skeleton(sk.vertices[idx], parent, sk.radius[idx], None, np.empty(0, np.int64), sk.node_type[idx])
    return decompose(skeleton, [], None, name=neuron.name)


def perturb(neuron: Neuron, kind: str, seed: int = 0) -> Neuron:
    """One random perturbation of issue #11's suite, with its parameters drawn from ``seed``.

    Parameters
    ----------
    neuron : Neuron
        One tree.
    kind : str
        One of :data:`KINDS`: ``"twigs"`` (0.3-3 µm twigs up to 2.7x the branch points),
        ``"fragments"`` (2-6 pieces, 0.2-5 µm gaps; *not* healed), ``"resample"`` (0.25x-4x
        node spacing, log-uniform), ``"rotate_mirror"``, ``"radii"`` (dropped or constant,
        half each), ``"all"`` (every one of them, in that order).
    seed : int

    Returns
    -------
    Neuron
    """
    if kind not in KINDS:
        raise InputError(f"unknown perturbation {kind!r}; choose from {KINDS}")
    _check(neuron)
    rng = np.random.default_rng(seed)
    seeds = rng.integers(2 ** 31, size=5)
    steps = KINDS[:5] if kind == "all" else (kind,)
    neuron = _chain(neuron, steps, seeds)
    return decompose(neuron.skeleton, neuron.somas, None, name=neuron.name)  # once, at the end


def _chain(neuron, steps: tuple, seeds: np.ndarray):
    for step in steps:
        s = int(seeds[KINDS.index(step)])
        r = np.random.default_rng(s)
        if step == "twigs":
            neuron = add_twigs(neuron, seed=s, _as_neuron=False)
        elif step == "fragments":
            neuron = fragment(neuron, n_pieces=int(r.integers(2, 7)), seed=s, _as_neuron=False)
        elif step == "resample":
            neuron = resample_spacing(neuron, float(np.exp(r.uniform(np.log(0.25), np.log(4.0)))), _as_neuron=False)
        elif step == "rotate_mirror":
            neuron = rotate_mirror(neuron, mirror=True, seed=s, _as_neuron=False)
        else:
            neuron = set_radii(neuron, "drop" if r.integers(2) else "constant", value=float(r.uniform(50, 500)),
                               _as_neuron=False)
    return neuron
