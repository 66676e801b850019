"""Merge errors: one neuron per soma (:func:`split_somas`) and rule-based proofreading
(:func:`proofread`), each cut or flag recorded with its position, reason and confidence."""

from .divide import divide
from .rules import RULES, proofread
from .second_axon import axon_like_pieces
from .split import split_somas

__all__ = ["RULES", "axon_like_pieces", "divide", "proofread", "split_somas"]
