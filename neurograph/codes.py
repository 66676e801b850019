"""The one table of compartment names, codes and colours (plain data, importable by every layer).

- :data:`SWC_TYPE`: compartment label -> SWC structure type (1 soma, 2 axon, 3 (basal)
  dendrite, 4 apical); written to ``Skeleton.node_type`` and ``Neuron.face_compartment``.
- :data:`COMPARTMENT_NAMES`: SWC type -> label of the neurite compartments (2, 3, 4).
- :data:`COMPARTMENT_CODES`: label -> code of the precomputed ``compartment`` vertex attribute
  and of graph arrays (0 unknown; basal and dendrite kept apart).
- :data:`SWC_OF_CODE`: the SWC type of each :data:`COMPARTMENT_CODES` code.
- :data:`COMPARTMENT_COLORS`: the fixed RGBA colour of each label (plots, Neuroglancer states).
"""

from __future__ import annotations

import numpy as np

#: compartment label -> SWC structure type
SWC_TYPE: dict[str, int] = {"soma": 1, "axon": 2, "dendrite": 3, "basal": 3, "apical": 4}
#: SWC type of a neurite node -> its compartment label
COMPARTMENT_NAMES: dict[int, str] = {2: "axon", 3: "dendrite", 4: "apical"}
#: compartment label -> code of the precomputed ``compartment`` vertex attribute (0 unknown)
COMPARTMENT_CODES: dict[str, int] = {"unknown": 0, "soma": 1, "axon": 2, "basal": 3, "apical": 4, "dendrite": 5}
#: SWC type written in ``vertex_types`` for each compartment code (navis / cloud-volume read it)
SWC_OF_CODE = np.array([0, 1, 2, 3, 4, 3], np.uint8)
#: compartment label of each compartment code
LABEL_OF_CODE: dict[int, str] = {v: k for k, v in COMPARTMENT_CODES.items()}

#: fixed colours of compartment labels (RGBA, 0-1)
COMPARTMENT_COLORS: dict[str, tuple[float, float, float, float]] = {
    "soma": (0.15, 0.15, 0.15, 1.0),
    "axon": (0.12, 0.47, 0.71, 1.0),
    "dendrite": (0.84, 0.15, 0.16, 1.0),
    "basal": (0.84, 0.15, 0.16, 1.0),
    "apical": (0.80, 0.30, 0.75, 1.0),
    "unknown": (0.6, 0.6, 0.6, 1.0),
}
