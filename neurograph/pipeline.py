"""One call from a mesh to a :class:`Neuron`: load, repair, somata, skeleton, branches."""

from __future__ import annotations

import time
from typing import Any, Callable, Sequence


from .graph import Neuron, decompose
from .io.meshes import load_mesh
from .mesh import find_somas, repair
from .skeleton import skeletonize


def extract(source: Any, voxel_size: float | Sequence[float] = 1.0, name: str | None = None,
            gap: float = 2000.0, min_soma_radius: float = 2500.0, step: float | str = 300.0,
            progress: Callable[[str, float], None] | None = None, synapses: Any = None,
            synapse_voxel_size: float | Sequence[float] = 1.0, synapse_columns: dict | None = None,
            synapse_tolerance: float = 1000.0, compartments: bool | dict | None = None,
            spines: bool | dict = True, split: bool = False,
            proofread: bool | dict | list = False) -> Neuron | list[Neuron]:
    """Run the whole pipeline on one mesh.

    Parameters
    ----------
    source : path, trimesh.Trimesh or (vertices, faces)
        The neuron mesh (``.ply .obj .off .stl``).
    voxel_size : float or (3,) floats, default 1.0
        nm per mesh unit (8 for hemibrain meshes in voxels, 1 for MICrONS meshes in nm).
    name : str, optional
        Defaults to the file stem.
    gap : float, default 2000
        Largest gap (nm) across which mesh pieces are joined (:func:`neurograph.repair`).
    min_soma_radius : float, default 2500
        Smallest soma radius in nm (:func:`neurograph.find_somas`).
    step : float or "auto", default 300
        Wavefront step in nm (:func:`neurograph.skeletonize`).
    progress : callable(stage, seconds), optional
        Called after each stage with its name and wall time.
    synapses : path or pandas.DataFrame, optional
        Synapse table (:func:`neurograph.load_synapses`): mapped onto the neuron
        (:meth:`Neuron.map_synapses`) and used for the compartment labels.
    synapse_voxel_size : float or (3,) floats, default 1.0
        nm per unit of the synapse coordinates ((4, 4, 40) for MICrONS tables, 8 for hemibrain).
    synapse_columns : dict, optional
        Explicit synapse column names (``direction, x, y, z, id``).
    synapse_tolerance : float, default 1000
        Synapses farther than this (nm) from the mesh are reported, not assigned.
    compartments : bool or dict, optional
        Label axon/dendrite/soma (:func:`neurograph.label_compartments`; a dict passes its
        parameters, e.g. ``{"pia": (0, -1, 0)}``); default: only when synapses are given.
    spines : bool or dict, default True
        Detect dendritic spines (:func:`neurograph.detect_spines`; a dict passes its
        parameters). Spine twigs of the skeleton are folded into their shaft branch, so
        spines are neither branches nor cable. Pass ``False`` for neurons without spines
        (insects: hemibrain, FlyWire, FAFB): their short terminal twigs (< ~3 µm) look like
        spines on the mesh and would be folded away (on the hemibrain DA1 neurons this
        removes ~25% of the cable that the reference skeletons count).
    split : bool, default False
        Return one neuron per soma (:func:`neurograph.split_somas`), named ``<name>_<soma>``,
        each with its ``cuts`` table; a neuron with fewer than two somata comes back alone in
        the list.
    proofread : bool, dict or list, default False
        Remove merge errors (:func:`neurograph.proofread`; a dict or list gives the rules).
        With ``split`` each part is proofread.

    Returns
    -------
    Neuron, or list of Neuron with ``split=True``
    """
    def done(stage: str, t0: float) -> float:
        if progress is not None:
            progress(stage, time.perf_counter() - t0)
        return time.perf_counter()

    t = time.perf_counter()
    mesh = load_mesh(source, voxel_size)
    name = name or mesh.metadata.get("name", "neuron")
    t = done("load", t)
    repaired = repair(mesh, gap=gap)
    t = done("repair", t)
    somas = find_somas(repaired.mesh, min_radius=min_soma_radius)
    t = done("soma", t)
    skeleton = skeletonize(repaired.mesh, somas, repaired.bridges, step=step)
    t = done("skeletonize", t)
    neuron = decompose(skeleton, somas, repaired.mesh, name=name, repair_report=repaired.report)
    t = done("decompose", t)
    if spines:
        from .features.spines import detect_spines

        detect_spines(neuron, **(spines if isinstance(spines, dict) else {}))
        t = done("spines", t)
    if synapses is not None:
        neuron.map_synapses(synapses, voxel_size=synapse_voxel_size, columns=synapse_columns,
                            tolerance=synapse_tolerance)
        t = done("synapses", t)
    if compartments or (compartments is None and synapses is not None):
        from .compartments import label_compartments

        label_compartments(neuron, **(compartments if isinstance(compartments, dict) else {}))
        t = done("compartments", t)
    if not split and not proofread:
        return neuron
    from .proofread import proofread as _proofread, split_somas

    parts = split_somas(neuron) if split else [neuron]
    if split:
        t = done("split", t)
    if proofread:
        rules = None if proofread is True else proofread
        parts = [_proofread(p, rules=rules)[0] for p in parts]
        done("proofread", t)
    return parts if split else parts[0]
