"""Presynaptic sites between a dendrite and an axon of the same neuron go to the axon.

A synapse annotation is a point in or near the synaptic cleft, or inside one of the two
partners (MICrONS' ``pre_pt``/``ctr_pt``/``post_pt``); where this neuron's axon makes a
synapse onto a partner that also touches one of its dendrites, the point can lie nearer
the dendrite's surface. :func:`neurograph.map_synapses` takes the nearest surface, so the
output lands on the dendrite. In vertebrate neurons outputs are made by axons (dendritic
outputs are confined to a few cell types: olfactory bulb granule and mitral cells, retinal
amacrine cells, thalamic interneurons), so of the surfaces the mapping accepts for a site
(within its tolerance) an output takes the axon's. Insect neurons' dendrites make outputs:
the insect rule leaves them where they are.
"""

from __future__ import annotations

import numpy as np

from ..codes import SWC_TYPE
from ..synapses.restrict import remap_onto_faces


def outputs_to_axon(neuron) -> int:
    """Move presynaptic sites mapped off the axon onto an axon surface within the mapping tolerance.

    Parameters
    ----------
    neuron : Neuron
        Labelled (``face_compartment``) and mapped (``synapses``, ``synapse_report``); changed
        in place.

    Returns
    -------
    int
        Number of sites moved (their ``compartment`` is ``axon``).
    """
    syn = getattr(neuron, "synapses", None)
    face_comp = getattr(neuron, "face_compartment", None)
    if syn is None or not len(syn) or face_comp is None:
        return 0
    comp = syn["compartment"].to_numpy()
    rows = np.flatnonzero((syn["direction"].to_numpy() == "pre") & syn["mapped"].to_numpy(bool)
                          & (comp != "axon") & (comp != "unmapped"))
    axon_faces = np.flatnonzero(np.asarray(face_comp) == SWC_TYPE["axon"])
    tolerance = float((getattr(neuron, "synapse_report", None) or {}).get("tolerance_nm", 1000.0))
    moved = remap_onto_faces(neuron, rows, axon_faces, tolerance)
    if len(moved):
        syn.loc[syn.index[moved], "compartment"] = "axon"
    return int(len(moved))
