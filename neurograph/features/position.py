"""Brain-space position features (opt-in: ``groups=[..., "position"]``).

These depend on the dataset's coordinate frame and orientation, so they do not travel
between datasets or registrations; within one registered dataset (e.g. FAFB) where a neuron
sits is legitimately informative of its lineage. Off by default.
"""

from __future__ import annotations

import numpy as np

from .context import NeuronContext
from .registry import register


@register("soma_position", "µm", "soma centre (or root) x, y, z in the dataset's frame", group="position",
          columns=["soma_x", "soma_y", "soma_z"], scale_free=False)
def soma_position(ctx: NeuronContext) -> np.ndarray:
    return ctx.reference / 1e3


@register("centroid_position", "µm", "cable-weighted centroid x, y, z in the dataset's frame", group="position",
          columns=["centroid_x", "centroid_y", "centroid_z"], scale_free=False)
def centroid_position(ctx: NeuronContext) -> np.ndarray:
    return ctx.centroid / 1e3


@register("cable_spread_xyz", "µm", "cable-weighted standard deviation along x, y, z", group="position",
          columns=["cable_sd_x", "cable_sd_y", "cable_sd_z"], scale_free=False)
def cable_spread_xyz(ctx: NeuronContext) -> np.ndarray:
    w = ctx.seg_length
    if w.sum() <= 0:
        return np.full(3, np.nan)
    d = ctx.seg_mid - ctx.centroid
    return np.sqrt((d ** 2 * w[:, None]).sum(0) / w.sum()) / 1e3
