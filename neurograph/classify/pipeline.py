"""scikit-learn pipelines for cell-type classification: build, train, predict."""

from __future__ import annotations

import re
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from ..errors import InputError

#: default model (measured on FAFB lineages, M1 Patch-seq and NeuroMorpho: see benchmarks/classify.py)
DEFAULT_MODEL = "extra_trees"
#: columns extra trees draws at each split. sqrt(p) (21 of FAFB's 470 columns with data) stays the
#: default although a third of the columns scores higher inside every labelled dataset but one
#: (issue #11, ``benchmarks/max_features.py``: FAFB lineage 0.932 -> 0.958, Allen Cre line 0.577 ->
#: 0.615, NeuroMorpho 1.000 -> 0.980): the greedier trees lean on the few best columns of the
#: training set, and across datasets those moved (FAFB -> hemibrain DA1 3/5 -> 2/5 lPN from skeletons,
#: 3/5 -> 1/5 from meshes; accuracy drops after healing and resampling 0.040 instead of <= 0.020,
#: ``benchmarks/results/transfer_max_features_0.33.txt``). Pass ``max_features=0.33`` to
#: :func:`build_pipeline` / :func:`train` for a model that stays within one dataset.
EXTRA_TREES_MAX_FEATURES = "sqrt"


def _model(name: str, random_state: int, **params: Any):
    if name == "random_forest":
        kw = dict(n_estimators=500, class_weight="balanced_subsample", max_features="sqrt", n_jobs=-1)
        return RandomForestClassifier(random_state=random_state, **{**kw, **params})
    if name == "extra_trees":
        kw = dict(n_estimators=500, class_weight="balanced", max_features=EXTRA_TREES_MAX_FEATURES, n_jobs=-1)
        return ExtraTreesClassifier(random_state=random_state, **{**kw, **params})
    if name == "hist_gradient_boosting":
        kw = dict(max_iter=300, learning_rate=0.05, class_weight="balanced", early_stopping=False)
        return HistGradientBoostingClassifier(random_state=random_state, **{**kw, **params})
    if name == "logistic":
        kw = dict(C=0.5, max_iter=5000, class_weight="balanced")
        return LogisticRegression(random_state=random_state, **{**kw, **params})
    raise InputError(f"unknown model {name!r}; use one of {MODELS}")


MODELS = ("random_forest", "extra_trees", "hist_gradient_boosting", "logistic")


def _finite(x):
    """Infinite values -> NaN (then imputed)."""
    x = np.asarray(x, dtype=float).copy()
    x[~np.isfinite(x)] = np.nan
    return x


def build_pipeline(model: str = DEFAULT_MODEL, random_state: int = 0, **params: Any) -> Pipeline:
    """An unfitted pipeline: inf -> NaN, median imputation, standard scaling, classifier.

    Parameters
    ----------
    model : {"random_forest", "extra_trees", "hist_gradient_boosting", "logistic"}
        The classifier (:data:`MODELS`); default :data:`DEFAULT_MODEL`.
    random_state : int
    **params
        Passed to the classifier (e.g. ``n_estimators=1000``).

    Returns
    -------
    sklearn.pipeline.Pipeline
        Steps ``finite``, ``impute``, ``scale``, ``model``.
    """
    return Pipeline([
        ("finite", FunctionTransformer(_finite, feature_names_out="one-to-one")),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("model", _model(model, random_state, **params)),
    ])


#: text that means a missing value in a feature table read from CSV
_MISSING_WORDS = ("", "nan", "na", "n/a", "none", "null", "<na>")


def feature_matrix(features: pd.DataFrame, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """The numeric feature columns of a table, as float (``columns`` fixes their order).

    Parameters
    ----------
    features : pandas.DataFrame
        Feature table, one row per neuron.
    columns : sequence of str, optional
        Columns to take, in this order (values that are not numbers become NaN). Default:
        every numeric or boolean column.

    Returns
    -------
    pandas.DataFrame
        Float copy of the selected columns, same index.

    Raises
    ------
    InputError
        Not a DataFrame, no numeric columns, or (with ``columns``) columns missing or holding
        text that is not a number.
    """
    if not isinstance(features, pd.DataFrame):
        raise InputError(f"features must be a pandas DataFrame (one row per neuron), got {type(features).__name__}")
    if columns is not None:
        missing = [c for c in columns if c not in features.columns]
        if missing:
            raise InputError(f"the feature table lacks {len(missing)} column(s) the model was trained on "
                             f"(first: {missing[:5]}); compute features with the same neurograph version and groups")
        table = features[list(columns)]
        numbers = table.apply(pd.to_numeric, errors="coerce").astype(float)
        # values that are neither numbers nor a spelling of "missing", per non-numeric column
        text = {c: numbers[c].isna() & table[c].notna()
                & ~table[c].astype(str).str.strip().str.lower().isin(_MISSING_WORDS)
                for c in table.columns if not pd.api.types.is_numeric_dtype(table[c])}
        lost = [c for c, mask in text.items() if mask.any()]
        if lost:
            c = lost[0]
            bad = table[c][text[c]].iloc[0]
            raise InputError(f"{len(lost)} feature column(s) the model needs hold text that is not a number (first: "
                             f"{c!r} = {bad!r}; all: {lost[:10]}): the table was written with decimal commas, "
                             "or the columns are not neurograph features; fix the values (NaN is allowed)")
        return numbers
    numeric = features.select_dtypes(include=[np.number, "bool"])
    if numeric.shape[1] == 0:
        raise InputError("the feature table has no numeric columns")
    return numeric.astype(float)


def _label_text(value: Any) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode("utf-8", "replace")
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        value = int(value)  # 4.0 (an integer column that held a NaN) is class "4", as 4 and "4" are
    text = str(value).strip()
    return _INTEGRAL_TEXT.sub(r"\1", text)  # "4.0": an integer label written from a float column


_INTEGRAL_TEXT = re.compile(r"^([+-]?\d+)\.0+$")


def label_strings(labels: Any) -> pd.Series:
    """Class labels of any type as text: the form every :mod:`neurograph.classify` function uses.

    Strings (``"2/3"``, ``"6a"``), integers, floats and mixtures of them are accepted; values
    that are the same integer are the same class (``4``, ``4.0``, ``"4"`` and ``"4.0"``, the form an
    integer column with a missing value takes in a CSV file, all become ``"4"``), and surrounding
    spaces are removed. Missing values stay missing.

    Parameters
    ----------
    labels : array-like or pandas.Series
        One label per neuron.

    Returns
    -------
    pandas.Series of str (object dtype)
        Same index as ``labels`` when it is a Series; NaN/None where a label is missing.
    """
    y = labels if isinstance(labels, pd.Series) else pd.Series(np.asarray(labels, dtype=object))
    missing = y.isna().to_numpy()
    text = [None if m else _label_text(v) for v, m in zip(y.to_numpy(dtype=object), missing)]
    return pd.Series(text, index=y.index, name=y.name, dtype=object)


def label_array(labels: Any, features: pd.DataFrame) -> pd.Series:
    if isinstance(labels, str):
        if labels not in features.columns:
            raise InputError(f"label column {labels!r} is not in the feature table")
        y = features[labels]
    elif isinstance(labels, pd.Series) and features.index.isin(labels.index).all() and labels.index.is_unique:
        y = labels.reindex(features.index)  # aligned by neuron name
    else:
        values = np.asarray(labels, dtype=object)
        if values.ndim != 1 or len(values) != len(features):
            raise InputError(f"{len(values)} labels for {len(features)} feature rows; give one label per row "
                             "(or a Series indexed like the feature table)")
        y = pd.Series(values, index=features.index)
    if y.isna().any():
        raise InputError(f"{int(y.isna().sum())} label(s) are missing (NaN); drop those neurons first")
    return label_strings(y)


def train(features: pd.DataFrame, labels: Any, model: str = DEFAULT_MODEL, random_state: int = 0,
          coarse: Any = None, routing: str = "hard", **params: Any) -> Pipeline:
    """Fit a classification pipeline.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per neuron (e.g. from :func:`neurograph.neuron_features`); numeric columns
        are used, NaN allowed (imputed).
    labels : array-like, pandas.Series or str
        Class of each row, or the name of a label column of ``features`` (then excluded
        from the inputs).
    model : str
        See :func:`build_pipeline`.
    random_state : int
    coarse : array-like, pandas.Series or str, optional
        A coarse class per row (or the name of its column, then excluded from the inputs), e.g.
        the dendrite type when ``labels`` is the cortical layer: the model is then a
        :class:`~neurograph.classify.hierarchical.HierarchicalClassifier` (coarse class first, then
        the label with a model per coarse class). Default: one flat model.
    routing : {"hard", "soft"}
        How the hierarchical model combines its stages (with ``coarse`` only).
    **params
        Classifier parameters.

    Returns
    -------
    sklearn.pipeline.Pipeline or HierarchicalClassifier
        Fitted; ``predict`` / ``predict_proba`` take a DataFrame with the training columns
        (``pipeline.feature_names_in_``), ``pipeline.classes_`` lists the classes.
    """
    y = label_array(labels, features)
    drop = [c for c in (labels, coarse) if isinstance(c, str)]
    X = training_matrix(features.drop(columns=drop))
    if y.nunique() < 2:
        raise InputError(f"need at least two classes to train, got {sorted(y.unique())}")
    if coarse is not None:
        from .hierarchical import HierarchicalClassifier  # noqa: PLC0415  (it builds on this module)

        hier = HierarchicalClassifier(model, random_state, routing, params or None)
        return hier.fit(X, y.to_numpy(), coarse=label_array(coarse, features).to_numpy())
    return fit_labels(build_pipeline(model, random_state, **params), X, y.to_numpy())


def training_matrix(features: pd.DataFrame) -> pd.DataFrame:
    """:func:`feature_matrix` for training: refuses a table without a single finite value.

    Parameters
    ----------
    features : pandas.DataFrame
        Feature table, one row per neuron (the label column already removed).

    Returns
    -------
    pandas.DataFrame
        The numeric columns as float.

    Raises
    ------
    InputError
        No rows, or every feature value NaN/inf: a model fitted on it would learn nothing.
    """
    X = feature_matrix(features)
    if len(X) == 0:
        raise InputError("the feature table has no rows to train on")
    if not np.isfinite(X.to_numpy()).any():
        raise InputError(f"every feature value of the {len(X)} x {X.shape[1]} table is NaN or infinite: there is "
                         "nothing to learn from. Check that the table holds neurograph features (neurograph "
                         "features / batch) and that the CSV separator and decimal mark were read correctly")
    return X


def fit_labels(pipe: Pipeline, X: pd.DataFrame, y: np.ndarray) -> Pipeline:
    """Fit ``pipe`` on integer class codes, then give its classifier the text labels back.

    scikit-learn's balanced class weights of the forests fail on text labels that look like
    numbers (``"4"``, ``"23"``); codes ``0..k-1`` avoid that whatever the labels are.

    Parameters
    ----------
    pipe : Pipeline
        Unfitted pipeline whose last step is a classifier.
    X : pandas.DataFrame
        Feature matrix.
    y : (n,) array-like
        Class per row (any type: see :func:`label_strings`).

    Returns
    -------
    Pipeline
        ``pipe``, fitted; ``pipe.classes_`` holds the labels (sorted, as str).
    """
    classes, codes = np.unique(label_strings(y).to_numpy(dtype=str), return_inverse=True)
    pipe.fit(X, codes)
    final = pipe
    while hasattr(final, "best_estimator_") or hasattr(final, "steps"):  # a search (GridSearchCV) or a pipeline
        final = final.best_estimator_ if hasattr(final, "best_estimator_") else final.steps[-1][1]
    final.classes_ = classes[np.asarray(final.classes_, dtype=np.int64)]
    return pipe


def predict(model: Pipeline, features: pd.DataFrame) -> pd.DataFrame:
    """Class probabilities and the predicted class of every row.

    Parameters
    ----------
    model : sklearn.pipeline.Pipeline
        From :func:`train` or :func:`neurograph.classify.load_model`.
    features : pandas.DataFrame
        Must hold the training columns (others are ignored).

    Returns
    -------
    pandas.DataFrame
        Index as ``features``; ``predicted`` (class), ``probability`` (of that class) and
        one ``p_<class>`` column per class.

    Raises
    ------
    InputError
        The table lacks a training column, holds text that is not a number in one
        (:func:`feature_matrix`), or has no rows.
    """
    X = feature_matrix(features, list(model.feature_names_in_))
    if len(X) == 0:
        raise InputError("the feature table has no rows to predict")
    proba = model.predict_proba(X)
    classes = [str(c) for c in model.classes_]
    out = pd.DataFrame(proba, index=features.index, columns=[f"p_{c}" for c in classes])
    best = proba.argmax(axis=1)
    out.insert(0, "probability", proba[np.arange(len(best)), best])
    out.insert(0, "predicted", np.asarray(classes, dtype=object)[best])
    return out
