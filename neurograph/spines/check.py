"""Does spine detection look like it folded insect twigs rather than dendritic spines?

Mammalian dendritic spines stud long dendritic shafts: between two branch points of a
cortical dendrite there are tens of µm of shaft carrying many spines. Insect neurons have no
spines, but their dense arbors end in many short terminal twigs (1-3 µm) that look like
spines on a mesh; there, the "spines" sit on short branches of a few µm, because branch
points follow each other closely in an insect arbor. So after folding, the branches that
carry spines are short and the folding took away a large share of the cable. The check uses
two measurements of the result of :func:`neurograph.detect_spines`:

- ``carrier_length_um``: the spine-weighted median length (µm) of the branches the spines
  sit on (each spine counts once);
- ``folded_share``: the fraction of the skeleton's cable folded away with the spine twigs;
- ``carrier_density``: spines per µm of the branches that carry them (a spiny dendrite carries
  ~1-5 per µm; the twigs of an insect arbor, one or two per short branch, well under 1).

Insect-like when ``carrier_length_um < max_carrier_um``, ``folded_share >= min_folded`` and
``carrier_density < MAX_DENSITY`` (with at least ``MIN_SPINES`` spines: a short piece of
spiny dendrite, whose one branch is short too, is not taken for an insect arbor);
then :func:`warn_if_insect_twigs` issues an :class:`~neurograph.errors.InsectTwigWarning`
naming the remedy (``dataset="hemibrain"`` or another insect profile, or ``spines=False``).
Measured values are in ``benchmarks/results/profiles.txt``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from ..errors import InsectTwigWarning

MAX_CARRIER_UM = 12.0  # µm: spine-carrying branches shorter than this (median) look like an insect arbor
MIN_FOLDED = 0.10  # at least this share of the cable folded away
MIN_SPINES = 20  # fewer spines than this: too few to tell
MAX_DENSITY = 1.5  # spines per µm of carrier branch: denser is a spiny dendrite


def twig_statistics(neuron, table: pd.DataFrame) -> dict:
    """Measurements of a spine detection result (see the module docstring).

    Parameters
    ----------
    neuron : Neuron
        After :func:`neurograph.detect_spines` (folded branches).
    table : pandas.DataFrame
        Its spine table (``attrs["folded_cable_um"]`` set by ``detect_spines``).

    Returns
    -------
    dict
        ``n_spines``, ``carrier_length_um`` (µm, NaN without spines), ``carrier_density``
        (1/µm, NaN without spines), ``folded_share`` (0-1).
    """
    folded = float(table.attrs.get("folded_cable_um", 0.0))
    cable = neuron.skeleton.cable_length / 1e3 + folded
    share = folded / cable if cable > 0 else 0.0
    carrier = density = np.nan
    if len(table) and "branch" in table.columns:
        lengths = neuron.branches["length"]
        branch = table["branch"].to_numpy()
        length = lengths.reindex(branch).to_numpy(float)
        length = length[np.isfinite(length)]
        carrier = float(np.median(length)) if len(length) else np.nan
        carried = lengths.reindex(np.unique(branch)).sum()
        density = float(len(table) / carried) if carried > 0 else np.nan
    return {"n_spines": int(len(table)), "carrier_length_um": carrier, "carrier_density": density,
            "folded_share": float(share)}


def looks_like_insect_twigs(stats: dict, max_carrier_um: float = MAX_CARRIER_UM,
                            min_folded: float = MIN_FOLDED) -> bool:
    """Whether :func:`twig_statistics` describe folded insect twigs rather than spines."""
    return (stats["n_spines"] >= MIN_SPINES and np.isfinite(stats["carrier_length_um"])
            and stats["carrier_length_um"] < max_carrier_um and stats["folded_share"] >= min_folded
            and not stats["carrier_density"] >= MAX_DENSITY)


def warn_if_insect_twigs(neuron, table: pd.DataFrame, warn: bool = True) -> dict:
    """Warn (:class:`~neurograph.errors.InsectTwigWarning`) when spine detection folded insect twigs.

    Parameters
    ----------
    neuron : Neuron
        After :func:`neurograph.detect_spines`.
    table : pandas.DataFrame
        Its spine table.
    warn : bool, default True
        Issue the warning (False: only measure, e.g. when a dataset profile asked for spines).

    Returns
    -------
    dict
        :func:`twig_statistics` plus ``insect_like`` (bool).
    """
    stats = twig_statistics(neuron, table)
    stats["insect_like"] = bool(looks_like_insect_twigs(stats))
    if stats["insect_like"] and warn:
        warnings.warn(
            f"{neuron.name}: spine detection folded {stats['folded_share']:.0%} of the cable away as "
            f"{stats['n_spines']} 'spines' sitting on short branches (median {stats['carrier_length_um']:.1f} µm): "
            "this looks like the terminal twigs of an insect neuron, not dendritic spines. For insect data pass "
            "dataset='hemibrain' (or 'flywire', 'fafb', 'manc') or spines=False; the cable of this result is "
            "too short.", InsectTwigWarning, stacklevel=3)
    return stats
