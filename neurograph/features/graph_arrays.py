"""Branch graphs as arrays for graph neural networks (node features, ``edge_index``, labels).

One node per branch (and, by default, one per soma), one edge per parent -> child link of
the branch graph (``Neuron.graph``), given in both directions as PyTorch Geometric expects.
Node features are branch columns of :data:`BRANCH_FEATURES` (units there; the same
numbers as ``Neuron.branches`` and the batch ``branches`` table).

Choice of default node features, against NEURD's GNN
----------------------------------------------------
NEURD (Celii et al. 2025) classifies MICrONS cell types with a GCN over limb branch graphs
(``neurd/gnn_cell_typing_utils.py``, feature list ``features_to_output_for_gnn``). Its node
features per branch are: skeletal length; upstream/downstream skeleton direction angles
(theta, phi); widths (upstream, no-spine, downstream); synapse counts (pre, post, and post on
spine heads, necks, shaft) and synapse volumes; spine count and spine volume; plus per-neuron
soma features broadcast to every node (soma volume, soma synapses, largest soma start angle).
Node weight for pooling is the skeletal length.

The defaults here (:data:`DEFAULT_FEATURES`) follow it where this library measures the same
thing: ``length`` (skeletal length, µm), ``width_median`` and ``shaft_width_median`` (widths
with and without spines, nm), ``n_pre``, ``n_post``, ``n_post_spine`` (synapse counts),
``n_spines`` and ``spine_volume_density`` (spine count and volume per µm). They differ on
purpose in two ways: NEURD's absolute direction angles depend on how the dataset is oriented
in space, so they are replaced by the orientation-free ``angle_to_parent`` (deg) and
``tortuosity``; and topology is given explicitly (``branch_order``, ``strahler``,
``path_to_soma``, ``n_children``) instead of being left to the message passing alone.
Synapse volumes are not included (synapse tables rarely carry comparable sizes across
datasets). Every other column of :data:`BRANCH_FEATURES` can be requested with ``features=``.
``node_weight`` is the branch length (µm), as NEURD's pooling weight.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import InputError
from ..codes import COMPARTMENT_CODES, LABEL_OF_CODE
from ..graph.branch_table import BRANCH_COLUMNS
from ..spines import SPINE_BRANCH_COLUMNS
from ..synapses import SYNAPSE_BRANCH_COLUMNS

#: branch columns usable as node features: name -> (unit, description)
BRANCH_FEATURES: dict[str, tuple[str, str]] = {
    k: v for k, v in {**BRANCH_COLUMNS, **SPINE_BRANCH_COLUMNS, **SYNAPSE_BRANCH_COLUMNS}.items()
    if k not in ("limb", "parent")}
#: default node features (see the module docstring for the comparison with NEURD)
DEFAULT_FEATURES = ("length", "width_median", "shaft_width_median", "volume", "tortuosity", "angle_to_parent",
                    "path_to_soma", "branch_order", "strahler", "n_children", "n_spines", "spine_volume_density",
                    "n_pre", "n_post", "n_post_spine")


@dataclass
class GraphArrays:
    """One neuron's branch graph as arrays.

    Attributes
    ----------
    name : str
    x : (n_nodes, n_features) float32 ndarray
        Node features (NaN replaced by ``nan`` of :func:`graph_arrays`); soma rows are 0
        except the ``is_soma`` column.
    edge_index : (2, n_edges) int64 ndarray
        Row indices into ``x``; parent -> child and child -> parent.
    node_ids : (n_nodes,) int64 ndarray
        Graph node id (``Neuron.graph`` / ``branches.branch``; somata ``0..n_somas-1``) of each row.
    feature_names : list of str
    units : list of str
        Unit of each feature (``""`` counts / ratios).
    compartment : (n_nodes,) int64 ndarray
        Compartment code per node (:data:`~neurograph.io.precomputed.COMPARTMENT_CODES`, 0 unknown).
    node_weight : (n_nodes,) float32 ndarray
        Branch length in µm (0 for somata): the pooling weight.
    label : any
        Neuron-level label (cell type), None when unknown.
    """

    name: str
    x: np.ndarray
    edge_index: np.ndarray
    node_ids: np.ndarray
    feature_names: list
    units: list
    compartment: np.ndarray
    node_weight: np.ndarray
    label: Any = None
    compartment_names: dict = field(default_factory=lambda: dict(LABEL_OF_CODE))

    @property
    def n_nodes(self) -> int:
        return len(self.node_ids)

    def to_pyg(self, label_map: dict | None = None):
        """A ``torch_geometric.data.Data`` (needs PyTorch Geometric, not a neurograph dependency).

        Parameters
        ----------
        label_map : dict, optional
            Neuron label -> class index for ``y``; without it ``y`` is set only for an
            integer label.

        Returns
        -------
        torch_geometric.data.Data
            ``x`` float, ``edge_index`` long, ``node_weight`` float, ``compartment`` long
            (per-node labels), ``y`` (long, when known), ``name``, ``feature_names``.

        Raises
        ------
        InputError
            PyTorch Geometric is not installed.
        """
        try:
            import torch
            from torch_geometric.data import Data
        except ImportError as exc:
            raise InputError("to_pyg needs PyTorch and PyTorch Geometric: pip install torch torch_geometric") from exc
        data = Data(x=torch.tensor(self.x, dtype=torch.float), edge_index=torch.tensor(self.edge_index, dtype=torch.long),
                    node_weight=torch.tensor(self.node_weight, dtype=torch.float),
                    compartment=torch.tensor(self.compartment, dtype=torch.long))
        y = label_map[self.label] if label_map is not None and self.label in label_map else self.label
        if isinstance(y, (int, np.integer)):
            data.y = torch.tensor([int(y)], dtype=torch.long)
        data.name = self.name
        data.feature_names = list(self.feature_names)
        return data


def arrays_from_branches(branches: pd.DataFrame, n_somas: int, features: Sequence[str] | None = None,
                         soma: bool = True, nan: float = 0.0, name: str = "neuron", label: Any = None) -> GraphArrays:
    """:class:`GraphArrays` from a branch table (``Neuron.branches`` or one neuron of a batch).

    Parameters
    ----------
    branches : pandas.DataFrame
        One row per branch, branch id in the index or a ``branch`` column, a ``parent``
        column and the feature columns (a ``compartment`` column gives the node labels).
    n_somas : int
        Number of somata (graph nodes ``0..n_somas-1``).
    features : sequence of str, optional
        Columns of :data:`BRANCH_FEATURES`; default :data:`DEFAULT_FEATURES` (missing
        columns, e.g. synapse counts without synapses, are NaN -> ``nan``).
    soma : bool, default True
        Add one node per soma (features 0, ``is_soma`` 1) linked to its primary branches,
        so that the limbs form one graph; False keeps only branches (limbs disconnected).
    nan : float, default 0
        Value for unknown features (NEURD also fills 0).
    name : str
    label : any, optional

    Returns
    -------
    GraphArrays
    """
    feats = list(DEFAULT_FEATURES if features is None else features)
    unknown = [f for f in feats if f not in BRANCH_FEATURES]
    if unknown:
        raise InputError(f"unknown node features {unknown}; choose from {sorted(BRANCH_FEATURES)}")
    table = branches.reset_index() if "branch" not in branches.columns else branches
    ids = table["branch"].to_numpy(np.int64)
    parent = table["parent"].to_numpy(np.int64) if "parent" in table.columns else np.full(len(table), -1)
    values = np.column_stack([pd.to_numeric(table[f], errors="coerce").to_numpy(float) if f in table.columns
                              else np.full(len(table), np.nan) for f in feats]) if feats else np.empty((len(table), 0))
    comp_labels = table["compartment"].astype(object).where(table["compartment"].notna(), "unknown").to_numpy() \
        if "compartment" in table.columns else np.full(len(table), "unknown", dtype=object)
    comp = np.array([COMPARTMENT_CODES.get(str(c), 0) for c in comp_labels], np.int64)
    weight = pd.to_numeric(table["length"], errors="coerce").fillna(0).to_numpy(float) if "length" in table.columns \
        else np.zeros(len(table))
    names, units = feats + ["is_soma"], [BRANCH_FEATURES[f][0] for f in feats] + [""]
    if soma and n_somas > 0:
        soma_ids = np.arange(n_somas, dtype=np.int64)
        ids = np.concatenate([soma_ids, ids])
        parent = np.concatenate([np.full(n_somas, -1), parent])
        values = np.vstack([np.zeros((n_somas, len(feats))), values])
        comp = np.concatenate([np.full(n_somas, COMPARTMENT_CODES["soma"]), comp])
        weight = np.concatenate([np.zeros(n_somas), weight])
        is_soma = np.concatenate([np.ones(n_somas), np.zeros(len(table))])
    else:
        is_soma = np.zeros(len(table))
    x = np.column_stack([np.where(np.isfinite(values), values, nan), is_soma]).astype(np.float32)
    row = pd.Series(np.arange(len(ids)), index=ids)
    linked = np.isin(parent, ids) & (parent >= 0)
    child = np.flatnonzero(linked)
    par = row.loc[parent[linked]].to_numpy(np.int64)
    edge_index = np.vstack([np.concatenate([par, child]), np.concatenate([child, par])]).astype(np.int64)
    return GraphArrays(name, x, edge_index, ids, names, units, comp, weight.astype(np.float32), label)


def graph_arrays(neuron, features: Sequence[str] | None = None, soma: bool = True, nan: float = 0.0,
                 label: Any = None) -> GraphArrays:
    """A neuron's branch graph as arrays for a graph neural network.

    Parameters
    ----------
    neuron : Neuron
    features : sequence of str, optional
        Node features, columns of :data:`BRANCH_FEATURES` (units there: lengths µm, widths
        nm, volumes µm³, angles deg, densities 1/µm); default :data:`DEFAULT_FEATURES`
        (chosen against NEURD's GNN inputs, see the module docstring).
    soma : bool, default True
        Include soma nodes (see :func:`arrays_from_branches`).
    nan : float, default 0
        Value for unknown features.
    label : any, optional
        Neuron-level label (e.g. a cell type) stored as ``label``.

    Returns
    -------
    GraphArrays
        ``x``, ``edge_index``, per-node ``compartment`` codes, ``node_weight``; ``to_pyg()``
        for PyTorch Geometric.
    """
    return arrays_from_branches(neuron.branches, neuron.n_somas, features=features, soma=soma, nan=nan,
                                name=neuron.name, label=label)
