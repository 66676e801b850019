"""Unit plausibility: does a neuron in nm have the size and thickness of a neuron?

Every loader converts to nm with the units it is told (``voxel_size``, ``units``); these
checks catch the usual slips (a mesh in µm or in voxels read as nm, nm read as µm) from
what holds for every neuron: a whole neuron or fragment spans between ~1 µm and a few mm
(the largest EM volumes are ~1-3 mm across), and a cell body is at least ~2.5 µm in radius.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from ..datasets import PROFILES, get_profile
from ..errors import UnitsError, UnitsWarning

#: smallest and largest plausible extent (bounding-box diagonal) of a neuron, nm
MIN_EXTENT_NM = 1_000.0
MAX_EXTENT_NM = {"mesh": 1e7, "swc": 1e8}  # EM meshes: <= 10 mm; light-microscopy axons reach cm


def extent_nm(points: np.ndarray) -> float:
    """Bounding-box diagonal of ``points`` (nm).

    Parameters
    ----------
    points : (n, 3) float array
        Coordinates in nm.

    Returns
    -------
    float
    """
    points = np.asarray(points, float)
    return float(np.linalg.norm(points.max(axis=0) - points.min(axis=0))) if len(points) else 0.0


def extent_message(points: np.ndarray, kind: str, what: str) -> str | None:
    """Why the extent of a neuron is implausible, naming the likely unit; None when it is plausible.

    Parameters
    ----------
    points : (n, 3) float array
        Coordinates in nm (after the loader's scaling).
    kind : {"mesh", "swc"}
        Which limits apply (:data:`MAX_EXTENT_NM`).
    what : str
        Name of the input, for the message.

    Returns
    -------
    str or None
    """
    size = extent_nm(points)
    if size < MIN_EXTENT_NM:
        hint = ("voxel_size=1000 for a mesh in µm" if kind == "mesh" else "units='um' for coordinates in µm")
        return (f"{what} spans only {size:.3g} nm after scaling to nm, smaller than any neuron: its coordinates are "
                f"probably in µm or larger units ({hint})")
    if size > MAX_EXTENT_NM[kind]:
        hint = ("voxel_size=1 for a mesh already in nm, 8 for hemibrain voxels, 4 4 40 for MICrONS voxels"
                if kind == "mesh" else "units='nm' for coordinates already in nm")
        return (f"{what} spans {size / 1e6:.3g} mm after scaling to nm, larger than any neuron: the voxel size "
                f"or units are probably too large ({hint})")
    return None


def check_extent(points: np.ndarray, kind: str, what: str, error: bool = True) -> None:
    """Raise (or warn) when a neuron's extent is implausible (:func:`extent_message`).

    Parameters
    ----------
    points : (n, 3) float array
        Coordinates in nm.
    kind : {"mesh", "swc"}
    what : str
        Name of the input, for the message.
    error : bool, default True
        Raise :class:`~neurograph.errors.UnitsError`; False: warn (:class:`UnitsWarning`).

    Returns
    -------
    None
    """
    message = extent_message(points, kind, what)
    if message is None:
        return
    if error:
        raise UnitsError(message)
    warnings.warn(message, UnitsWarning, stacklevel=3)


def check_thickness(max_radius_nm: float, n_somas: int, what: str, min_soma_radius: float = 2500.0) -> str | None:
    """Warn when no soma was found and nothing in the neuron is thick enough to be one.

    A mesh in voxels read as nm (hemibrain's 8 nm voxels without ``voxel_size=8``) is 8x too
    small: its soma becomes a "neurite" of a few hundred nm and is not found. A fragment
    without soma can be that thin too, so this warns, naming the factor.

    Parameters
    ----------
    max_radius_nm : float
        Largest skeleton radius, nm.
    n_somas : int
        Somata found.
    what : str
        Name of the neuron, for the message.
    min_soma_radius : float, default 2500
        Smallest soma radius searched for, nm.

    Returns
    -------
    str or None
        The warning's message (also issued as :class:`UnitsWarning`), None when plausible.
    """
    if n_somas or not np.isfinite(max_radius_nm) or max_radius_nm <= 0 or max_radius_nm >= min_soma_radius / 4:
        return None
    factor = min_soma_radius / max_radius_nm
    message = (f"{what}: no soma found and the thickest part is only {max_radius_nm:.0f} nm in radius. A fragment "
               f"of axon or dendrite can be that thin, but if this is a whole cell its coordinates are probably "
               f"voxels of ~{factor:.0f} nm or more read as nm: pass the voxel size (voxel_size=8 / --voxel-size 8 "
               "for hemibrain, 4 4 40 for MICrONS voxels)")
    warnings.warn(message, UnitsWarning, stacklevel=3)
    return message


#: what to pass, per kind of input, in the message of a missing unit: command-line flag, which
#: data are in nm, and examples of other voxel sizes
UNIT_HINTS = {
    "mesh": ("--voxel-size", "MICrONS, H01, FlyWire meshes",
             "8 for hemibrain/MANC meshes in 8 nm voxels, (4, 4, 40) for MICrONS voxels, 1000 for µm"),
    "synapses": ("--synapse-voxel-size", "a table in nm",
                 "(4, 4, 40) for MICrONS/FlyWire tables in voxels, 8 for hemibrain/neuPrint connectors"),
}

#: spellings of a length unit (``trimesh.Trimesh.units``) -> nm per unit
LENGTH_UNITS: dict[str, float] = {
    **dict.fromkeys(("nm", "nanometer", "nanometers", "nanometre", "nanometres"), 1.0),
    **dict.fromkeys(("um", "micron", "microns", "micrometer", "micrometers", "micrometre", "micrometres"), 1e3),
    **dict.fromkeys(("mm", "millimeter", "millimeters", "millimetre", "millimetres"), 1e6),
}


def nm_per_unit(name: object) -> float | None:
    """nm per unit of a length unit's name (``"nm"``, ``"um"``, ``"µm"``, ``"micrometers"``...); None if unknown.

    Parameters
    ----------
    name : str or None
        The unit's name, e.g. ``trimesh.Trimesh.units``.

    Returns
    -------
    float or None
    """
    if not isinstance(name, str):
        return None
    return LENGTH_UNITS.get(name.strip().lower().replace("µ", "u").replace("μ", "u"))


def require_unit(value: float | Sequence[float] | None, what: str, kind: str = "mesh",
                 parameter: str | None = None) -> float | Sequence[float]:
    """``value`` when it is given; else raise :class:`~neurograph.errors.UnitsError` saying what to pass.

    Coordinates have no unit of their own: every loader takes it (``voxel_size``, ``units``) or
    a dataset profile gives it (``dataset=``). There is no default unit.

    Parameters
    ----------
    value : float, (3,) floats or None
        nm per coordinate unit, as given by the caller (or the profile).
    what : str
        The input, for the message.
    kind : {"mesh", "synapses"}
        Which examples the message gives (:data:`UNIT_HINTS`).
    parameter : str, optional
        Name of the parameter to pass (default ``voxel_size``; ``synapse_voxel_size`` in
        :func:`neurograph.extract`).

    Returns
    -------
    float or (3,) floats
        ``value``.

    Raises
    ------
    UnitsError
        ``value`` is None.
    """
    if value is not None:
        return value
    flag, in_nm, examples = UNIT_HINTS[kind]
    parameter = parameter or "voxel_size"
    raise UnitsError(f"{what}: no unit given for its coordinates (neurograph assumes none). Pass {parameter}=1 "
                     f"if they are in nm ({in_nm}), else the voxel size in nm ({parameter}= {examples}), or "
                     f"dataset= one of {', '.join(map(repr, PROFILES))} to take it from that dataset's profile. "
                     f"Command line: {flag} 1 (or the voxel size), or --dataset NAME")


def resolve_unit(given: float | Sequence[float] | None, own: float | None, dataset: Any, field: str, what: str,
                 kind: str = "mesh", parameter: str | None = None) -> float | Sequence[float]:
    """nm per coordinate unit: the caller's, else the object's own, else the dataset profile's, else an error.

    Parameters
    ----------
    given : float, (3,) floats or None
        What the caller passed (wins over the rest).
    own : float or None
        The unit the object says it has (``trimesh.Trimesh.units``, a table's ``attrs['units']``).
    dataset : str, DatasetProfile or None
        Dataset profile, whose ``field`` applies to an object without a unit of its own.
    field : str
        The profile's field (``"mesh_voxel_size"``, ``"synapse_voxel_size"``).
    what, kind, parameter
        For the message (:func:`require_unit`).

    Returns
    -------
    float or (3,) floats

    Raises
    ------
    UnitsError
        None of the three gives a unit.
    """
    if given is None:
        given = own
    if given is None and dataset is not None:
        given = getattr(get_profile(dataset), field)
    return require_unit(given, what, kind, parameter)
