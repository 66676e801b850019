"""Skeletons: a rooted tree of nodes with radii and a map from mesh vertices to nodes."""

from .skeleton import Skeleton
from .wavefront import skeletonize

__all__ = ["Skeleton", "skeletonize"]
