"""Save and load trained classification pipelines, without pickles.

A saved model is a folder: ``model.skops`` (the fitted scikit-learn pipeline in the
`skops <https://skops.readthedocs.io>`_ format: a zip of JSON and ``.npy`` arrays that is
rebuilt from an allow list of types, so loading it never runs code from the file) and
``model.json`` (readable metadata: feature names in order, classes, label, model name,
versions).

Folders written by older neurograph versions hold ``model.joblib``, a pickle: unpickling
runs whatever code the file carries, so :func:`load_model` refuses it unless told that
the file is trusted (``trust_pickle=True``, ``neurograph predict --trust-pickle``); save
it again to convert it.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import datetime, timezone

import sklearn
from sklearn.pipeline import Pipeline

from ..errors import FormatError, InputError
from ..io.paths import atomic_target, atomic_write_bytes
from .hierarchical import HierarchicalClassifier

FORMAT = "neurograph-classifier"
VERSION = 2
MODEL_FILE = "model.skops"
PICKLE_FILE = "model.joblib"

#: types a saved model may contain beyond those skops trusts itself (the pipelines of
#: :func:`neurograph.classify.build_pipeline`: their inf -> NaN step and the fitted trees)
TRUSTED_TYPES = ("neurograph.classify.pipeline._finite", "numpy.dtype", "sklearn.tree._tree.Tree",
                 "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
                 "neurograph.classify.hierarchical.HierarchicalClassifier")


def save_model(model: Pipeline, path: str | os.PathLike, label: str | None = None,
               extra: dict | None = None) -> str:
    """Save a fitted pipeline to the folder ``path`` (created if needed).

    Parameters
    ----------
    model : Pipeline
        From :func:`neurograph.classify.train`.
    path : str or PathLike
        Output folder; an existing model in it is replaced.
    label : str, optional
        Name of the label the model predicts (stored in the metadata).
    extra : dict, optional
        More JSON-serialisable metadata (e.g. cross-validation scores).

    Returns
    -------
    str
        The folder.

    Raises
    ------
    InputError
        ``model`` is not fitted, or ``path`` is an existing file.
    """
    import skops.io as sio

    if not hasattr(model, "feature_names_in_") or not hasattr(model, "classes_"):
        raise InputError("save_model needs a fitted pipeline from neurograph.classify.train")
    from ..version import __version__

    path = os.fspath(path)
    if os.path.exists(path) and not os.path.isdir(path):
        raise InputError(f"{path} is a file; a model is saved as a folder: give a new or existing folder name")
    os.makedirs(path, exist_ok=True)
    meta = {"format": FORMAT, "version": VERSION, "label": label, "file": MODEL_FILE,
            "features": [str(c) for c in model.feature_names_in_], "classes": [str(c) for c in model.classes_],
            "model": type(model.steps[-1][1] if hasattr(model, "steps") else model).__name__, "sklearn_version": sklearn.__version__,
            "neurograph_version": __version__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **(extra or {})}
    with atomic_target(os.path.join(path, MODEL_FILE)) as tmp:
        sio.dump(model, tmp)
    old = os.path.join(path, PICKLE_FILE)
    if os.path.isfile(old):  # a converted old model: its pickle must not be picked up again
        os.remove(old)
    atomic_write_bytes(os.path.join(path, "model.json"), json.dumps(meta, indent=1).encode())
    return path


def _read_meta(path: str) -> dict:
    meta_path = os.path.join(path, "model.json")
    try:
        with open(meta_path, encoding="utf-8") as fh:
            meta = json.load(fh)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{meta_path} is not readable JSON ({type(exc).__name__}: {exc}); save the model "
                          "again with `neurograph train`") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FormatError(f"{path} is not a neurograph classifier "
                          f"(format={meta.get('format') if isinstance(meta, dict) else None!r})")
    if not isinstance(meta.get("version", 0), int) or meta.get("version", 0) > VERSION:
        raise FormatError(f"{path} was written by a newer neurograph (format version {meta.get('version')!r}); "
                          "upgrade neurograph")
    if not isinstance(meta.get("features"), list):
        raise FormatError(f"{meta_path} has no 'features' list; save the model again")
    return meta


def _load_skops(file: str, meta: dict) -> Pipeline:
    import skops.io as sio

    try:
        with zipfile.ZipFile(file) as zf:
            unsafe = [n for n in zf.namelist() if n.startswith(("/", "\\")) or ".." in n.replace("\\", "/").split("/")]
        if unsafe:
            raise FormatError(f"{file} holds members with parent-folder or absolute names ({unsafe[0]!r}): not a "
                              "model written by neurograph; not loaded")
        untrusted = sio.get_untrusted_types(file=file)
    except FormatError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError, TypeError) as exc:
        raise FormatError(f"{file} is not a readable model file ({type(exc).__name__}: {exc}); it is truncated "
                          "or damaged: train and save the model again") from exc
    foreign = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if foreign:
        raise FormatError(f"{file} refers to types a neurograph model does not use ({', '.join(foreign[:5])}); "
                          "it was not written by neurograph.classify.save_model, so it is not loaded")
    try:
        return sio.load(file, trusted=list(untrusted))
    except Exception as exc:  # skops and scikit-learn raise many types for damaged or foreign files
        raise FormatError(f"{file} could not be loaded ({type(exc).__name__}: {exc}); it may be damaged or "
                          f"come from another scikit-learn version (saved with {meta.get('sklearn_version')}, "
                          f"installed {sklearn.__version__}): train and save it again") from exc


def _load_pickle(file: str, meta: dict) -> Pipeline:
    import joblib

    try:
        return joblib.load(file)
    except Exception as exc:  # unpickling raises many types
        raise FormatError(f"{file} could not be loaded ({type(exc).__name__}: {exc}); it may come from another "
                          f"scikit-learn version (saved with {meta.get('sklearn_version')}, installed "
                          f"{sklearn.__version__})") from exc


def load_model(path: str | os.PathLike, trust_pickle: bool = False) -> Pipeline:
    """Load a pipeline saved with :func:`save_model`; ``model.neurograph_meta`` holds the metadata.

    Loading never runs code from the files: ``model.skops`` is rebuilt from an allow list of
    scikit-learn and numpy types (:data:`TRUSTED_TYPES`), and an old ``model.joblib`` pickle
    is refused unless ``trust_pickle`` is set.

    Parameters
    ----------
    path : str or os.PathLike
        Model folder holding ``model.json`` and ``model.skops`` (or an old ``model.joblib``).
    trust_pickle : bool, default False
        Load an old ``model.joblib`` pickle. Unpickling runs any code the file carries: only
        for files you made yourself. Save the loaded model again to convert it.

    Returns
    -------
    sklearn.pipeline.Pipeline
        The fitted pipeline, with the metadata of ``model.json`` as ``neurograph_meta``.

    Raises
    ------
    FormatError
        No saved model at ``path``, an untrusted pickle, a damaged file, types a neurograph
        model does not use, or metadata that does not match the pipeline.
    """
    path = os.fspath(path)
    meta_path = os.path.join(path, "model.json")
    skops_file, pickle_file = os.path.join(path, MODEL_FILE), os.path.join(path, PICKLE_FILE)
    if not os.path.isdir(path) or not os.path.isfile(meta_path) or not (
            os.path.isfile(skops_file) or os.path.isfile(pickle_file)):
        raise FormatError(f"no saved neurograph model in {path} (expected a folder with model.json and "
                          f"{MODEL_FILE}; save one with neurograph.classify.save_model or `neurograph train`)")
    meta = _read_meta(path)
    if os.path.isfile(skops_file):
        model = _load_skops(skops_file, meta)
    elif trust_pickle:
        model = _load_pickle(pickle_file, meta)
    else:
        raise FormatError(f"{pickle_file} is a pickle (a model saved by an older neurograph, or by someone else): "
                          "loading a pickle runs any code it carries, so it is refused. If you made this file "
                          "yourself, load it once with load_model(path, trust_pickle=True) (or `neurograph predict "
                          "--trust-pickle`) and save it again with save_model; otherwise train the model again")
    if not isinstance(model, (Pipeline, HierarchicalClassifier)) or not hasattr(model, "classes_"):
        raise FormatError(f"{path}: the model file does not hold a fitted scikit-learn pipeline")
    if [str(c) for c in getattr(model, "feature_names_in_", [])] != meta["features"]:
        raise FormatError(f"{path}: the model file and model.json disagree on the feature columns")
    model.neurograph_meta = meta
    return model
