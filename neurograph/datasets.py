"""Dataset profiles: the units and conventions of each public connectome, as one table of data.

``neurograph.extract(mesh, dataset="hemibrain")``, ``neurograph.load_swc(path, dataset="fafb")``
and ``neurograph extract/batch --dataset NAME`` take their defaults from :data:`PROFILES`.
Explicit arguments always win over the profile; a parameter left at ``None`` takes the
profile's value, and without a profile the library's generic default. The chosen profile
and the final values are recorded in ``Neuron.settings`` (saved with the neuron, and in the
batch ``neurons`` table).

Every field (units in the name where they are not nm):

``mesh_voxel_size``
    nm per mesh coordinate unit (x, y, z).
``synapse_voxel_size``
    nm per coordinate unit of the dataset's usual synapse table.
``synapse_columns``
    Column names of that table (``direction, x, y, z, id``); used only when the given table
    has them all, otherwise the loader's own detection applies.
``swc_units``, ``swc_voxel_size``
    Units of the dataset's usual SWC skeletons (``nm``, ``um`` or ``voxel`` + nm per voxel).
``swc_radii``
    Whether those SWCs carry radii (CAVE / pcg_skel skeletons of MICrONS and FlyWire L2
    skeletons do not; FAFB CATMAID tracings mostly have -1/0).
``spines``
    Detect dendritic spines (mammalian cortex yes; insect neurons have none, and their
    short twigs must not be folded away as spines).
``min_soma_radius_nm``, ``max_soma_radius_nm``
    Soma radius limits for :func:`neurograph.find_somas`.
``pia``
    Direction towards the pia in the dataset's coordinates (cortex only), passed to
    :func:`neurograph.label_compartments` for apical dendrites.
``compartments``
    Geometry-only axon method of :func:`neurograph.label_compartments`: ``"vertebrate"``
    (thin axon leaving the soma or a proximal dendrite) or ``"insect"`` (unipolar neurons:
    :mod:`neurograph.compartments.insect`).

Sources (checked for each value; see also docs/datasets.md, generated from this table by
:func:`profiles_markdown`): MICrONS minnie65 annotation tables are "in units of 4,4,40
nm/voxel" (MICrONS tutorial, "Annotation Tables",
alleninstitute.github.io/microns_tutorial); minnie65 y grows with cortical depth, so the
pia is -y (MICrONS Consortium 2021 bioRxiv/Nature 2025; NEURD, Celii et al. 2025, uses the
same convention); CAVE / pcg_skel skeletons are in nm without radii, ~2 µm node spacing
(Level-2 chunk graph). Hemibrain and MANC: FIB-SEM at 8 nm isotropic voxels, neuPrint
coordinates in 8 nm voxels (Scheffer et al. 2020 eLife; hemibrainr ``scale_neurons(x,
scaling = 8/1000)``; natverse/malevnc, Takemura et al. 2024 eLife). FlyWire / FAFB: ssTEM
at 4 x 4 x 40 nm; FlyWire synapse tables (Buhmann et al. 2021) in 4 x 4 x 40 nm voxels
(fafbseg ``flywire_synapse_annotations(scale = 1/c(4, 4, 40))``, ``flywire_voxdims``),
meshes and skeletons in nm; FAFB CATMAID skeletons in nm (Zheng et al. 2018; Bates et al.
2020). H01: human temporal cortex, imaged at 4 nm, ~33 nm sections, segmentation and
annotations at 8 x 8 x 33 nm (Shapson-Coe et al. 2024 Science). NeuroMorpho.Org:
standardised SWC in µm with radii (Ascoli et al. 2007).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import InputError

#: help text of the ``--dataset`` option of the command-line tools
DATASET_HELP = ("dataset profile giving voxel sizes, spines on/off, soma limits, pia and the axon method: "
                "microns, h01, hemibrain, manc, flywire, fafb, neuromorpho (explicit options override it)")


@dataclass(frozen=True)
class DatasetProfile:
    """Units and conventions of one dataset (fields described in :mod:`neurograph.datasets`)."""

    name: str
    description: str
    mesh_voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    synapse_voxel_size: tuple[float, float, float] = (1.0, 1.0, 1.0)
    synapse_columns: dict[str, str] | None = None
    swc_units: str = "nm"
    swc_voxel_size: tuple[float, float, float] | None = None
    swc_radii: bool = True
    spines: bool = True
    min_soma_radius_nm: float = 2500.0
    max_soma_radius_nm: float = 15000.0
    pia: tuple[float, float, float] | None = None
    compartments: str = "vertebrate"
    sources: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The profile as plain JSON-able data."""
        out = asdict(self)
        for k, v in out.items():
            if isinstance(v, tuple):
                out[k] = list(v)
        return out


_FLY_SOMA = dict(min_soma_radius_nm=1500.0, max_soma_radius_nm=8000.0)  # fly somata ~2-5 µm radius
# neuPrint (Janelia FIB-SEM, 8 nm isotropic): meshes, skeletons and synapses in 8 nm voxels
_NEUPRINT = dict(mesh_voxel_size=(8.0, 8.0, 8.0), synapse_voxel_size=(8.0, 8.0, 8.0),
                 synapse_columns={"direction": "type", "x": "x", "y": "y", "z": "z", "id": "connector_id"},
                 swc_units="voxel", swc_voxel_size=(8.0, 8.0, 8.0), swc_radii=True, spines=False,
                 compartments="insect", **_FLY_SOMA)

#: name -> profile. The one table of dataset conventions.
PROFILES: dict[str, DatasetProfile] = {p.name: p for p in (
    DatasetProfile(
        "microns", "MICrONS minnie65 (mouse visual cortex, ssTEM): meshes in nm, CAVE synapse tables "
        "in 4x4x40 nm voxels, pcg_skel skeletons in nm without radii (~2 µm node spacing)",
        synapse_voxel_size=(4.0, 4.0, 40.0),
        synapse_columns={"direction": "prepost", "x": "synapse_x", "y": "synapse_y", "z": "synapse_z",
                         "id": "synapse_id"},
        swc_units="nm", swc_radii=False, spines=True, min_soma_radius_nm=2500.0, max_soma_radius_nm=15000.0,
        pia=(0.0, -1.0, 0.0),
        sources=("https://alleninstitute.github.io/microns_tutorial/programmatic_access/em_py_03_annotation_tables.html",
                 "MICrONS Consortium, Nature 640 (2025); Celii et al. (NEURD), Nature 640 (2025)")),
    DatasetProfile(
        "h01", "H01 (human temporal cortex, ssTEM 4 nm, ~33 nm sections): meshes in nm, annotations "
        "in 8x8x33 nm voxels",
        synapse_voxel_size=(8.0, 8.0, 33.0), swc_units="nm", swc_radii=False, spines=True,
        min_soma_radius_nm=3000.0, max_soma_radius_nm=20000.0, pia=None,
        sources=("Shapson-Coe et al., Science 384 (2024) eadk4858; h01-release.storage.googleapis.com",)),
    DatasetProfile(
        "hemibrain", "Janelia hemibrain v1.2 (Drosophila, FIB-SEM 8 nm isotropic): neuPrint meshes, "
        "skeletons and synapses in 8 nm voxels",
        sources=("Scheffer et al., eLife 9 (2020) e57443",
                 "https://rdrr.io/github/natverse/hemibrainr/man/hemibrain_read_neurons.html (scale 8/1000)"),
        **_NEUPRINT),
    DatasetProfile(
        "manc", "Janelia MANC (Drosophila male ventral nerve cord, FIB-SEM 8 nm): neuPrint data in "
        "8 nm voxels",
        sources=("Takemura et al., eLife 13 (2024) RP97769; https://github.com/natverse/malevnc",), **_NEUPRINT),
    DatasetProfile(
        "flywire", "FlyWire (whole Drosophila brain, FAFB ssTEM 4x4x40 nm): meshes and skeletons in nm, "
        "synapse tables (Buhmann et al. 2021) in 4x4x40 nm voxels",
        synapse_voxel_size=(4.0, 4.0, 40.0),
        synapse_columns={"direction": "prepost", "x": "x", "y": "y", "z": "z", "id": "id"},
        swc_units="nm", swc_radii=False, spines=False, compartments="insect",
        sources=("Dorkenwald et al., Nature 634 (2024); Buhmann et al., Nat Methods 18 (2021)",
                 "https://rdrr.io/github/natverse/fafbseg/man/flywire_voxdims.html"), **_FLY_SOMA),
    DatasetProfile(
        "fafb", "FAFB CATMAID tracings (Drosophila, ssTEM 4x4x40 nm): skeletons and connectors in nm",
        synapse_voxel_size=(1.0, 1.0, 1.0), swc_units="nm", swc_radii=False, spines=False, compartments="insect",
        sources=("Zheng et al., Cell 174 (2018); Bates et al., Curr Biol 30 (2020)",), **_FLY_SOMA),
    DatasetProfile(
        "neuromorpho", "NeuroMorpho.Org standardised SWC (light microscopy, mostly vertebrate): µm with radii",
        swc_units="um", swc_radii=True, spines=False,
        sources=("Ascoli et al., J Neurosci 27 (2007); https://neuromorpho.org",)),
)}


def get_profile(dataset: str | DatasetProfile | None) -> DatasetProfile | None:
    """The profile of ``dataset`` (case-insensitive name), None for None.

    Parameters
    ----------
    dataset : str, DatasetProfile or None

    Returns
    -------
    DatasetProfile or None

    Raises
    ------
    InputError
        Unknown name (the message lists the known ones).
    """
    if dataset is None or isinstance(dataset, DatasetProfile):
        return dataset
    key = str(dataset).strip().lower()
    if key not in PROFILES:
        raise InputError(f"unknown dataset {dataset!r}; known datasets: {', '.join(sorted(PROFILES))} "
                         "(or pass voxel sizes and options explicitly)")
    return PROFILES[key]


def pick(explicit: Any, profile: DatasetProfile | None, field_name: str, default: Any) -> Any:
    """An explicit value if given, else the profile's, else ``default``."""
    if explicit is not None:
        return explicit
    if profile is not None:
        return getattr(profile, field_name)
    return default


def synapse_columns_for(profile: DatasetProfile | None, table: Any) -> dict | None:
    """The profile's synapse column names if ``table`` has them all, else None (auto-detect).

    Parameters
    ----------
    profile : DatasetProfile or None
    table : path, pandas.DataFrame or dict of columns
        The synapse table (only its column names are read).

    Returns
    -------
    dict or None
    """
    if profile is None or not profile.synapse_columns:
        return None
    names = None
    if hasattr(table, "columns"):
        names = set(map(str, table.columns))
    elif isinstance(table, dict):
        names = set(map(str, table))
    elif isinstance(table, (str, os.PathLike)) and os.path.isfile(table):
        import pandas as pd

        try:
            if str(table).lower().endswith((".parquet", ".pq")):
                import pyarrow.parquet as pq

                names = set(pq.read_schema(table).names)
            else:
                names = set(pd.read_csv(table, nrows=0, sep=None, engine="python").columns.map(str))
        except Exception:  # unreadable here: the loader reports it properly
            return None
    if names is None or not set(profile.synapse_columns.values()) <= names:
        return None
    return dict(profile.synapse_columns)


def profiles_table() -> "Any":
    """All profiles as a pandas DataFrame (one row per dataset)."""
    import pandas as pd

    return pd.DataFrame([p.as_dict() for p in PROFILES.values()]).set_index("name")


def profiles_markdown() -> str:
    """The profile table as Markdown (docs/datasets.md and the README are made from it)."""
    def fmt(v: Any) -> str:
        if v is None:
            return "-"
        if isinstance(v, (tuple, list)):
            return " x ".join(f"{x:g}" for x in v)
        if isinstance(v, bool):
            return "yes" if v else "no"
        if isinstance(v, float):
            return f"{v / 1e3:g}"
        return str(v)

    head = ("| dataset | mesh nm/unit | synapse nm/unit | SWC units | SWC radii | spines | soma radius µm "
            "| pia | axon method |\n|---|---|---|---|---|---|---|---|---|\n")
    rows = []
    for p in PROFILES.values():
        swc = p.swc_units + (f" ({fmt(p.swc_voxel_size)} nm)" if p.swc_voxel_size else "")
        pia = "-" if p.pia is None else "(" + ", ".join(f"{x:g}" for x in p.pia) + ")"
        rows.append(f"| `{p.name}` | {fmt(p.mesh_voxel_size)} | {fmt(p.synapse_voxel_size)} | {swc} | "
                    f"{fmt(p.swc_radii)} | {fmt(p.spines)} | {fmt(p.min_soma_radius_nm)}-{fmt(p.max_soma_radius_nm)} "
                    f"| {pia} | {p.compartments} |")
    notes = "\n".join(f"- `{p.name}`: {p.description}. Sources: {'; '.join(p.sources)}." for p in PROFILES.values())
    return head + "\n".join(rows) + "\n\n" + notes + "\n"


if __name__ == "__main__":  # pragma: no cover - regenerates docs/datasets.md
    import pathlib

    out = pathlib.Path(__file__).resolve().parents[1] / "docs" / "datasets.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text("# Dataset profiles\n\nGenerated from `neurograph/datasets.py` "
                   "(`python -m neurograph.datasets`); do not edit by hand.\n\n"
                   "Pass `dataset=NAME` to `neurograph.extract` / `neurograph.load_swc`, or `--dataset NAME` "
                   "to `neurograph extract` and `neurograph batch` (or a `dataset` column in a batch manifest). "
                   "Explicit arguments override the profile; `Neuron.settings` records the profile and the "
                   "values used.\n\n" + profiles_markdown())
    print(f"wrote {out}")
