"""Save and load trained classification pipelines.

A saved model is a folder: ``model.joblib`` (the fitted scikit-learn pipeline, pickled by
joblib: load only models you trust) and ``model.json`` (readable metadata: feature names
in order, classes, label, model name, versions).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone

import joblib
import sklearn
from sklearn.pipeline import Pipeline

from ..errors import FormatError, InputError

FORMAT = "neurograph-classifier"
VERSION = 1


def save_model(model: Pipeline, path: str | os.PathLike, label: str | None = None,
               extra: dict | None = None) -> str:
    """Save a fitted pipeline to the folder ``path`` (created if needed).

    Parameters
    ----------
    model : Pipeline
        From :func:`neurograph.classify.train`.
    path : str or PathLike
        Output folder.
    label : str, optional
        Name of the label the model predicts (stored in the metadata).
    extra : dict, optional
        More JSON-serialisable metadata (e.g. cross-validation scores).

    Returns
    -------
    str
        The folder.
    """
    if not hasattr(model, "feature_names_in_") or not hasattr(model, "classes_"):
        raise InputError("save_model needs a fitted pipeline from neurograph.classify.train")
    from .. import __version__

    path = os.fspath(path)
    os.makedirs(path, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, "label": label,
            "features": [str(c) for c in model.feature_names_in_], "classes": [str(c) for c in model.classes_],
            "model": type(model.steps[-1][1]).__name__, "sklearn_version": sklearn.__version__,
            "neurograph_version": __version__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **(extra or {})}
    tmp = os.path.join(path, f"model.joblib.tmp-{os.getpid()}")
    joblib.dump(model, tmp)
    os.replace(tmp, os.path.join(path, "model.joblib"))
    with open(os.path.join(path, "model.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    return path


def load_model(path: str | os.PathLike) -> Pipeline:
    """Load a pipeline saved with :func:`save_model`; ``model.neurograph_meta`` holds the metadata.

    Parameters
    ----------
    path : str or os.PathLike
        Model folder holding ``model.json`` and ``model.joblib``.

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline, with the metadata of ``model.json`` as ``neurograph_meta``.

    Raises
    ------
    FormatError
        No saved model at ``path``, or metadata that does not match the pipeline.
    """
    path = os.fspath(path)
    meta_path, model_path = os.path.join(path, "model.json"), os.path.join(path, "model.joblib")
    if not (os.path.isfile(meta_path) and os.path.isfile(model_path)):
        raise FormatError(f"no saved neurograph model in {path} (expected model.json and model.joblib; "
                          "save one with neurograph.classify.save_model or `neurograph train`)")
    try:
        with open(meta_path) as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{meta_path} is not readable JSON ({exc})") from exc
    if meta.get("format") != FORMAT:
        raise FormatError(f"{path} is not a neurograph classifier (format={meta.get('format')!r})")
    if meta.get("version", 0) > VERSION:
        raise FormatError(f"{path} was written by a newer neurograph (format version {meta['version']}); upgrade")
    try:
        model = joblib.load(model_path)
    except Exception as exc:  # unpickling raises many types
        raise FormatError(f"{model_path} could not be loaded ({type(exc).__name__}: {exc}); it may come from "
                          f"another scikit-learn version (saved with {meta.get('sklearn_version')}, "
                          f"installed {sklearn.__version__})") from exc
    if [str(c) for c in getattr(model, "feature_names_in_", [])] != meta["features"]:
        raise FormatError(f"{path}: model.joblib and model.json disagree on the feature columns")
    model.neurograph_meta = meta
    return model
