"""One call from a mesh to a :class:`Neuron`: load, repair, somata, skeleton, branches, then the
steps (spines, synapses, compartments, proofreading); and navis neurons in (:func:`from_navis`)."""

from __future__ import annotations

import os
import time
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from .compartments import label_compartments
from .datasets import get_profile, pick, synapse_columns_for
from .errors import InputError, UnitsWarning, check_direction
from .graph import Neuron, decompose
from .io.meshes import load_mesh, mesh_voxel_size
from .io.navis import connector_table, mesh_arrays, navis_module, tree_table
from .io.precomputed import is_precomputed_source
from .io.synapses import synapse_voxel_size as synapse_voxel
from .io.units import check_extent, check_thickness
from .mesh import find_somas, repair
from .mesh.resolution import FACES_PER_UM2
from .proofread import proofread as proofread_neuron
from .proofread import split_somas
from .skeleton import skeletonize
from .skeleton.protrusions import PROTRUSION_RATIO
from .spines import detect_spines, warn_if_insect_twigs
from .synapses import map_synapses


def extract(source: Any, voxel_size: float | Sequence[float] | None = None, name: str | None = None,
            gap: float = 2000.0, min_soma_radius: float | None = None, step: float | str = 300.0,
            progress: Callable[[str, float], None] | None = None, synapses: Any = None,
            synapse_voxel_size: float | Sequence[float] | None = None, synapse_columns: dict | None = None,
            synapse_tolerance: float = 1000.0, compartments: bool | dict | None = None,
            spines: bool | dict | None = None, dataset: str | None = None,
            max_soma_radius: float | None = None, segment_id: Any = None,
            decimate: float | int | None = None, split: bool = False,
            proofread: bool | dict | list = False,
            protrusion_ratio: float | None = None,
            resolution: float | bool | None = FACES_PER_UM2) -> Neuron | list[Neuron]:
    """Run the whole pipeline on one mesh.

    Parameters left at ``None`` come from the ``dataset`` profile
    (:data:`neurograph.datasets.PROFILES`), or without one from the generic default given
    below; explicit values always win. The profile name and the final values are recorded
    in ``neuron.settings`` (saved with the neuron).

    Parameters
    ----------
    source : path, trimesh.Trimesh or (vertices, faces)
        The neuron mesh (``.ply .obj .off .stl``), or a Neuroglancer precomputed layer
        with ``segment_id`` (see :func:`neurograph.load_mesh`).
    voxel_size : float or (3,) floats, optional
        nm per mesh unit (8 for hemibrain meshes in voxels, 1 for MICrONS meshes in nm).
        Required unless the mesh object says its unit (``trimesh.Trimesh.units``, set by
        :func:`neurograph.load_mesh`), ``dataset`` gives it, or ``source`` is a precomputed
        layer: there is no default unit.
    name : str, optional
        Defaults to the file stem.
    gap : float, default 2000
        Largest gap (nm) across which mesh pieces are joined (:func:`neurograph.repair`).
    min_soma_radius, max_soma_radius : float, optional
        Soma radius limits in nm (:func:`neurograph.find_somas`); default the profile's,
        else 2500 and 15000.
    step : float or "auto", default 300
        Wavefront step in nm (:func:`neurograph.skeletonize`).
    progress : callable(stage, seconds), optional
        Called after each stage with its name and wall time.
    synapses : path or pandas.DataFrame, optional
        Synapse table (:func:`neurograph.load_synapses`): mapped onto the neuron
        (:meth:`Neuron.map_synapses`) and used for the compartment labels.
    synapse_voxel_size : float or (3,) floats, optional
        nm per unit of the synapse coordinates ((4, 4, 40) for MICrONS tables, 8 for hemibrain);
        required with ``synapses`` unless the table comes from :func:`neurograph.load_synapses`
        (in nm already) or ``dataset`` gives it: there is no default unit.
    synapse_columns : dict, optional
        Explicit synapse column names (``direction, x, y, z, id``); default the profile's
        when the table has those columns, else detected from the table.
    synapse_tolerance : float, default 1000
        Synapses farther than this (nm) from the mesh are reported, not assigned.
    compartments : bool or dict, optional
        Label axon/dendrite/soma (:func:`neurograph.label_compartments`; a dict passes its
        parameters, e.g. ``{"pia": (0, -1, 0)}``); default: only when synapses are given.
        The profile supplies ``pia`` and ``method`` unless the dict sets them.
    spines : bool or dict, optional
        Detect dendritic spines (:func:`neurograph.detect_spines`; a dict passes its
        parameters). Spine twigs of the skeleton are folded into their shaft branch, so
        spines are neither branches nor cable. Default: the profile's (off for the insect
        datasets), else True. Insect neurons have no spines, but their short terminal twigs
        (< ~3 µm) look like spines on the mesh and would be folded away (~25-40% of the
        cable of the hemibrain DA1 neurons); without a profile, when the folded twigs look
        like insect twigs rather than spines (:func:`neurograph.spines.check.looks_like_insect_twigs`)
        a :class:`~neurograph.errors.InsectTwigWarning` names the remedy.
    dataset : str, optional
        Dataset profile name (``microns``, ``h01``, ``hemibrain``, ``manc``, ``flywire``,
        ``fafb``, ``neuromorpho``; :mod:`neurograph.datasets`).
    segment_id : int, optional
        Segment id in a precomputed layer ``source`` (units from the layer's ``info``).
    decimate : int or float, optional
        Simplify the mesh (quadric decimation, :func:`neurograph.mesh.quadric.decimate`) before everything
        else, as NEURD does: an int > 1 is the target number of faces, a float in (0, 1)
        the fraction of faces kept. Off by default: it trades accuracy for speed (spines
        and thin twigs lose detail first; ``benchmarks/scaling.py`` measures the effect on
        features). Meshes already at or below the target are left as they are.
    resolution : float, default 30
        Processing resolution in faces per µm² of surface (the "resolution floor",
        :mod:`neurograph.mesh.resolution`): a mesh finer than this is simplified as far as
        a 5 nm geometric tolerance allows, right after duplicate vertices and
        degenerate faces are removed, so the same surface gives the same neuron whatever its
        tessellation, and meshes of millions of faces cost about as much as their decimated
        export. Meshes at or below it (the MICrONS decimated exports, ~26 faces/µm²; hemibrain,
        ~3) are untouched, unless they are a subdivided copy of a coarser mesh (many vertices
        on straight creases). None or False: process every face. Faces before and after are in
        ``neuron.repair_report``.
    split : bool, default False
        Return one neuron per soma (:func:`neurograph.split_somas`), named ``<name>_<soma>``,
        each with its ``cuts`` table; a neuron with fewer than two somata comes back alone in
        the list.
    proofread : bool, dict or list, default False
        Remove merge errors (:func:`neurograph.proofread`; a dict or list gives the rules).
        With ``split`` each part is proofread.
    protrusion_ratio : float, optional
        Make a twig of every patch of mesh surface standing out from the skeleton by more
        than this many times the local radius (:mod:`neurograph.skeleton.protrusions`):
        short twigs the wavefront passes by (on the decimated hemibrain DA1 meshes ~20-60
        per neuron, +0.5-1.7 % of the reference cable). Default: 2 when spines are not
        detected (the insect profiles), else off (on spiny dendrites such protrusions are
        spines, measured by the spine step); 0 turns it off.

    Returns
    -------
    Neuron, or list of Neuron with ``split=True``

    Raises
    ------
    UnitsError
        No unit for the mesh or the synapse table (see ``voxel_size``), or the mesh spans less
        than 1 µm or more than 10 mm once scaled to nm: ``voxel_size`` is wrong (all checked
        before any expensive step).
    InputError
        A synapse file that does not exist, or a ``pia`` that is not a non-zero direction
        (checked before the mesh is loaded).

    Warns
    -----
    UnitsWarning
        No soma found and nothing thicker than a quarter of ``min_soma_radius``: probably a
        mesh in voxels read as nm.
    """
    def done(stage: str, t0: float) -> float:
        if progress is not None:
            progress(stage, time.perf_counter() - t0)
        return time.perf_counter()

    profile = get_profile(dataset)
    # the units first, before any work: a precomputed layer says its own (nm); other meshes and
    # synapse tables need them given, on the object, or from the profile (no default unit)
    voxel_size = 1.0 if is_precomputed_source(source) else mesh_voxel_size(source, voxel_size, profile)
    if synapses is not None:  # given, else the table's own (nm from load_synapses), else the profile's
        synapse_voxel_size = synapse_voxel(synapses, synapse_voxel_size, profile, "synapse_voxel_size")
    else:  # recorded in the settings
        synapse_voxel_size = pick(synapse_voxel_size, profile, "synapse_voxel_size", None)
    min_soma_radius = float(pick(min_soma_radius, profile, "min_soma_radius_nm", 2500.0))
    max_soma_radius = float(pick(max_soma_radius, profile, "max_soma_radius_nm", 15000.0))
    if synapse_columns is None and synapses is not None:
        synapse_columns = synapse_columns_for(profile, synapses)
    spines = pick(spines, profile, "spines", True)
    if protrusion_ratio is None:  # twigs from surface protrusions where protrusions are not spines
        protrusion_ratio = 0.0 if spines else PROTRUSION_RATIO
    comp_kwargs = dict(compartments) if isinstance(compartments, dict) else {}
    # what fails at the end must fail before the work: a missing synapse file, a bad pia direction
    if isinstance(synapses, (str, os.PathLike)) and not os.path.exists(synapses):
        raise InputError(f"synapse table {os.fspath(synapses)} does not exist")
    if comp_kwargs.get("pia") is not None:
        check_direction(comp_kwargs["pia"], "pia")
    if profile is not None:
        comp_kwargs.setdefault("pia", profile.pia)
        comp_kwargs.setdefault("method", profile.compartments)
    settings = {"dataset": None if profile is None else profile.name, "voxel_size": voxel_size,
                "min_soma_radius": min_soma_radius, "max_soma_radius": max_soma_radius, "gap": gap, "step": step,
                "spines": spines, "protrusion_ratio": protrusion_ratio, "synapse_voxel_size": synapse_voxel_size, "synapse_columns": synapse_columns,
                "synapse_tolerance": synapse_tolerance, "compartment_method": comp_kwargs.get("method", "auto"),
                "pia": comp_kwargs.get("pia"), "decimate": decimate,
                "resolution": None if resolution is None or resolution is False else
                float(FACES_PER_UM2 if resolution is True else resolution)}

    t = time.perf_counter()
    with warnings.catch_warnings():  # the extent is checked below, as an error
        warnings.simplefilter("ignore", UnitsWarning)
        mesh = load_mesh(source, voxel_size, segment_id=segment_id)
    name = name or mesh.metadata.get("name", "neuron")
    check_extent(mesh.vertices, "mesh", f"mesh {name!r}")  # before any work that grows with the size
    t = done("load", t)
    repaired = repair(mesh, gap=gap, target_faces=_target_faces(decimate, len(mesh.faces)), resolution=resolution)
    t = done("repair", t)
    somas = find_somas(repaired.mesh, min_radius=min_soma_radius, max_radius=max_soma_radius)
    t = done("soma", t)
    skeleton = skeletonize(repaired.mesh, somas, repaired.bridges, step=step, protrusion_ratio=protrusion_ratio)
    t = done("skeletonize", t)
    neuron = decompose(skeleton, somas, repaired.mesh, name=name, repair_report=repaired.report)
    if skeleton.radius is not None and np.isfinite(skeleton.radius).any():
        check_thickness(float(np.nanmax(skeleton.radius)), len(somas), f"mesh {name!r}", min_soma_radius)
    t = done("decompose", t)
    if spines:
        neuron = detect_spines(neuron, inplace=True, **(spines if isinstance(spines, dict) else {}))
        # measured always (in neuron.settings); a warning only when no profile said what the data is
        settings["spine_check"] = warn_if_insect_twigs(neuron, neuron.spines, warn=profile is None)
        t = done("spines", t)
    if synapses is not None:
        map_synapses(neuron, synapses, voxel_size=synapse_voxel_size, columns=synapse_columns,
                     tolerance=synapse_tolerance, inplace=True)
        t = done("synapses", t)
    if compartments or (compartments is None and synapses is not None):
        label_compartments(neuron, inplace=True, **comp_kwargs)
        t = done("compartments", t)
    settings.update(split=bool(split), proofread=proofread if isinstance(proofread, (bool, dict, list)) else bool(proofread))
    neuron.settings = {**_plain(settings), **neuron.settings}  # the steps' own records (compartments) kept
    if not split and not proofread:
        return neuron
    parts = split_somas(neuron) if split else [neuron]
    if split:
        t = done("split", t)
    if proofread:
        rules = None if proofread is True else proofread
        parts = [proofread_neuron(p, rules=rules)[0] for p in parts]
        done("proofread", t)
    for part in parts:  # the parts were made with the same settings
        part.settings = {**neuron.settings, **part.settings}
    return parts if split else parts[0]


def _plain(value: Any) -> Any:
    """JSON-able copy of a settings value (tuples and arrays -> lists, numpy scalars -> Python)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _target_faces(decimate: float | int | None, n_faces: int) -> int | None:
    """Target face count for ``extract(decimate=...)``: None (off), an int > 1 (faces) or a
    float in (0, 1) (fraction kept)."""
    if decimate is None:
        return None
    if isinstance(decimate, bool) or not isinstance(decimate, (int, float, np.integer, np.floating)):
        raise InputError(f"decimate must be a face count (int > 1) or a fraction in (0, 1), got {decimate!r}")
    if isinstance(decimate, (int, np.integer)) and decimate > 1:
        return int(decimate)
    if 0 < float(decimate) < 1:
        return max(4, int(round(float(decimate) * n_faces)))
    raise InputError(f"decimate must be a face count (int > 1) or a fraction in (0, 1), got {decimate!r}; "
                     "pass None to keep every face")


def from_navis(x: Any, nm_per_unit: float | None = None, name: str | None = None, **extract_kwargs):
    """A navis neuron (or list) as neurograph Neuron(s), in nm.

    Parameters
    ----------
    x : navis.TreeNeuron, navis.MeshNeuron or navis.NeuronList
        Units from ``x.units`` (e.g. ``8 nanometer`` for hemibrain data).
    nm_per_unit : float, optional
        Override for neurons without a length unit.
    name : str, optional
        Neuron name; default ``x.id`` when it is an integer (a body / segment id), else
        ``x.name``.
    **extract_kwargs
        For a ``MeshNeuron``: options of :func:`neurograph.extract` (``spines=False`` for
        insect neurons, ``gap``, ...).

    Returns
    -------
    Neuron or list of Neuron
        A ``TreeNeuron`` becomes a skeleton Neuron like :func:`neurograph.load_swc` (soma
        from the navis soma or SWC label 1); a node column ``compartment`` becomes the
        branches' compartment labels; connectors become ``Neuron.synapses`` (connectors tied
        to nodes are all mapped, whatever their distance to the skeleton; others within 1 µm). A ``MeshNeuron``
        runs :func:`neurograph.extract` (its connectors are mapped too). A ``NeuronList``
        gives a list.

    Raises
    ------
    InputError
        Not a navis neuron, or a neuron without a length unit.
    """
    from .graph.interop import neuron_from_table

    navis = navis_module()
    if isinstance(x, navis.NeuronList):
        return [from_navis(n, nm_per_unit=nm_per_unit, **extract_kwargs) for n in x]
    xid, xname = getattr(x, "id", None), getattr(x, "name", None)
    label = name or (str(xid) if isinstance(xid, (int, np.integer)) or str(xid).isdigit() else
                     str(xname or xid or "neuron"))
    if isinstance(x, navis.TreeNeuron):
        table, meta = tree_table(x, nm_per_unit)
        labels = table["compartment"].astype(str).to_numpy() if "compartment" in table.columns else None
        neuron = neuron_from_table(table, label, {"source": "navis", **meta}, labels, "navis")
    elif isinstance(x, navis.MeshNeuron):
        neuron = extract(mesh_arrays(x, nm_per_unit), voxel_size=1.0, name=label, **extract_kwargs)
        neuron.repair_report["source"] = "navis"
    else:
        raise InputError(f"from_navis takes a navis TreeNeuron, MeshNeuron or NeuronList, got {type(x).__name__}")
    synapses = connector_table(x, nm_per_unit)
    if synapses is not None and len(synapses):
        tolerance = 1000.0
        if "node_id" in synapses.columns and isinstance(x, navis.TreeNeuron):
            # navis ties these connectors to nodes: they belong to the neuron however far from the
            # skeleton's centre line (a soma or a thick dendrite), so the tolerance covers them
            nodes = table.set_index("node_id")[["x", "y", "z"]]
            tied = synapses["node_id"].isin(nodes.index).to_numpy()
            if tied.any():
                gap = np.linalg.norm(synapses.loc[tied, ["x", "y", "z"]].to_numpy(float)
                                     - nodes.loc[synapses.loc[tied, "node_id"]].to_numpy(float), axis=1)
                tolerance = max(tolerance, float(gap.max()) * 1.01 + 1.0)
        map_synapses(neuron, synapses.drop(columns="node_id", errors="ignore"), voxel_size=1.0,  # nm
                     tolerance=tolerance, inplace=True)
    return neuron
