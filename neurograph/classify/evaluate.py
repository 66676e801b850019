"""Cross-validation, confusion matrices and permutation feature importance."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.inspection import permutation_importance
from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold
from sklearn.pipeline import Pipeline

from ..errors import InputError, check_number
from .hierarchical import HierarchicalClassifier
from .pipeline import DEFAULT_MODEL, label_array, build_pipeline, feature_matrix, fit_labels, training_matrix


@dataclass
class CVResult:
    """Cross-validated performance of a classification pipeline.

    Attributes
    ----------
    balanced_accuracy : float
        Mean over folds of the balanced accuracy (mean per-class recall; chance = 1 / n_classes).
    macro_f1 : float
        Mean over folds of the unweighted mean of per-class F1.
    confusion : pandas.DataFrame
        Out-of-fold counts, rows = true class, columns = predicted class.
    folds : pandas.DataFrame
        Per-fold ``balanced_accuracy``, ``macro_f1``, ``n_test``.
    predictions : pandas.DataFrame
        Out-of-fold ``true``, ``predicted`` and ``p_<class>`` per neuron.
    importance : pandas.DataFrame or None
        Permutation importance on the held-out folds (``importance=True``).
    dropped_classes : dict
        Classes left out for having fewer than ``min_class_size`` members (class -> count).
    """

    balanced_accuracy: float
    macro_f1: float
    confusion: pd.DataFrame
    folds: pd.DataFrame
    predictions: pd.DataFrame
    importance: pd.DataFrame | None = None
    dropped_classes: dict = field(default_factory=dict)

    @property
    def balanced_accuracy_sd(self) -> float:
        return float(self.folds["balanced_accuracy"].std(ddof=1))

    @property
    def chance(self) -> float:
        return 1.0 / len(self.confusion)

    def __repr__(self) -> str:
        return (f"CVResult(balanced_accuracy={self.balanced_accuracy:.3f} ± {self.balanced_accuracy_sd:.3f}, "
                f"macro_f1={self.macro_f1:.3f}, {len(self.confusion)} classes, {len(self.predictions)} neurons, "
                f"{len(self.folds)} folds)")


def cross_validate(features: pd.DataFrame, labels: Any, groups: Sequence | None = None,
                   model: str | Pipeline = DEFAULT_MODEL, n_splits: int = 5, random_state: int = 0,
                   min_class_size: int | None = None, importance: bool = False, n_repeats: int = 5,
                   coarse: Any = None, routing: str = "hard", **params: Any) -> CVResult:
    """Stratified k-fold cross-validation of a classification pipeline.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per neuron, numeric columns (NaN allowed).
    labels : array-like, pandas.Series or str
        Class per row or the name of a label column in ``features``.
    groups : array-like, optional
        Group per row (e.g. animal, dataset): folds then never split a group
        (:class:`~sklearn.model_selection.StratifiedGroupKFold`).
    model : str or Pipeline
        A model name for :func:`~neurograph.classify.build_pipeline` or an unfitted pipeline.
    n_splits : int, default 5
    random_state : int, default 0
        Seeds the fold shuffling and the model.
    min_class_size : int, optional
        Leave out classes with fewer members (reported in ``dropped_classes``). Without it,
        a class smaller than ``n_splits`` raises :class:`~neurograph.errors.InputError`.
    importance : bool, default False
        Also compute permutation importance (balanced accuracy drop) on every held-out fold.
    n_repeats : int, default 5
        Permutations per feature and fold for ``importance``.
    coarse : array-like, pandas.Series or str, optional
        A coarse class per row (or its column's name): each fold then trains a
        :class:`~neurograph.classify.hierarchical.HierarchicalClassifier` (coarse class first,
        e.g. spiny / aspiny, then the label with a model per coarse class); the coarse class of
        the held-out rows is predicted, never read. Default: one flat model.
    routing : {"hard", "soft"}
        How the hierarchical model combines its stages (with ``coarse`` only).
    **params
        Classifier parameters.

    Returns
    -------
    CVResult

    Raises
    ------
    InputError
        ``n_splits`` below 2, fewer than two classes, a class smaller than ``n_splits`` (pass
        ``min_class_size``), ``groups`` of another length, or a pipeline with ``coarse``.
    """
    n_splits = check_number(n_splits, "n_splits", integer=True)
    if n_splits < 2:
        raise InputError(f"n_splits must be at least 2 (folds of cross-validation), got {n_splits}")
    y = label_array(labels, features)
    X = training_matrix(features.drop(columns=[c for c in (labels, coarse) if isinstance(c, str)]))
    cv = None if coarse is None else label_array(coarse, features).to_numpy()
    if cv is not None and isinstance(model, Pipeline):
        raise InputError("coarse= builds its own two-stage model; pass a model name, not a pipeline")
    g = None if groups is None else np.asarray(groups)
    if g is not None and len(g) != len(X):
        raise InputError(f"{len(g)} groups for {len(X)} feature rows")
    counts = y.value_counts()
    dropped: dict = {}
    if min_class_size is not None:
        small = counts[counts < min_class_size]
        dropped = {str(k): int(v) for k, v in small.items()}
        keep = ~y.isin(small.index).to_numpy()
        X, y = X[keep], y[keep]
        g = g[keep] if g is not None else None
        cv = cv[keep] if cv is not None else None
        counts = y.value_counts()
    if len(counts) < 2:
        raise InputError(f"need at least two classes for cross-validation, got {list(counts.index)}")
    if counts.min() < n_splits:
        raise InputError(f"class {counts.idxmin()!r} has {counts.min()} member(s), fewer than n_splits={n_splits}; "
                         "pass min_class_size to leave small classes out, or merge them")
    if g is None:
        splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    else:
        splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=random_state)
    classes = sorted(counts.index)
    proba = np.zeros((len(y), len(classes)))
    pred = np.empty(len(y), dtype=object)
    fold_rows, imp = [], []
    if cv is not None:
        base = HierarchicalClassifier(model, random_state, routing, params or None)
    else:
        base = model if isinstance(model, Pipeline) else build_pipeline(model, random_state, **params)
    yv = y.to_numpy()
    for k, (tr, te) in enumerate(splitter.split(X, yv, g)):
        if cv is not None:
            pipe = clone(base).fit(X.iloc[tr], yv[tr], coarse=cv[tr])
        else:
            pipe = fit_labels(clone(base), X.iloc[tr], yv[tr])
        p = pipe.predict_proba(X.iloc[te])
        cols = [classes.index(c) for c in pipe.classes_]
        proba[np.ix_(te, cols)] = p
        pred[te] = np.asarray(pipe.classes_, dtype=object)[p.argmax(1)]
        fold_rows.append({"fold": k, "n_test": len(te),
                          "balanced_accuracy": balanced_accuracy_score(yv[te], pred[te]),
                          "macro_f1": f1_score(yv[te], pred[te], average="macro", zero_division=0)})
        if importance:
            r = permutation_importance(pipe, X.iloc[te], yv[te], scoring="balanced_accuracy", n_repeats=n_repeats,
                                       random_state=random_state + k, n_jobs=1)
            imp.append(r.importances_mean)
    folds = pd.DataFrame(fold_rows).set_index("fold")
    conf = pd.DataFrame(confusion_matrix(yv, pred.astype(str), labels=classes),
                        index=pd.Index(classes, name="true"), columns=pd.Index(classes, name="predicted"))
    preds = pd.DataFrame(proba, index=X.index, columns=[f"p_{c}" for c in classes])
    preds.insert(0, "predicted", pred.astype(str))
    preds.insert(0, "true", yv)
    importance_table = None
    if importance:
        a = np.vstack(imp)
        importance_table = pd.DataFrame({"importance": a.mean(0), "importance_sd": a.std(0, ddof=1) if len(a) > 1
                                         else np.zeros(a.shape[1])}, index=pd.Index(X.columns, name="feature"))
        importance_table = importance_table.sort_values("importance", ascending=False)
    return CVResult(float(folds["balanced_accuracy"].mean()), float(folds["macro_f1"].mean()), conf, folds,
                    preds, importance_table, dropped)


def feature_importance(model: Pipeline, features: pd.DataFrame, labels: Any, n_repeats: int = 10,
                       random_state: int = 0, units: bool = True) -> pd.DataFrame:
    """Permutation importance: drop in balanced accuracy when one feature is shuffled.

    Use held-out data (importance on the training rows mostly measures memorisation).

    Parameters
    ----------
    model : Pipeline
        Fitted (:func:`~neurograph.classify.train`).
    features : pandas.DataFrame
        Held-out rows with the training columns.
    labels : array-like, pandas.Series or str
    n_repeats : int, default 10
    random_state : int, default 0
    units : bool, default True
        Add the ``unit`` and ``description`` of registered neurograph features.

    Returns
    -------
    pandas.DataFrame
        Index ``feature``; ``importance`` (mean drop of balanced accuracy), ``importance_sd``,
        sorted, most important first.
    """
    y = label_array(labels, features)
    X = feature_matrix(features, list(model.feature_names_in_))
    r = permutation_importance(model, X, y.to_numpy(), scoring="balanced_accuracy", n_repeats=n_repeats,
                               random_state=random_state)
    table = pd.DataFrame({"importance": r.importances_mean, "importance_sd": r.importances_std},
                         index=pd.Index(X.columns, name="feature")).sort_values("importance", ascending=False)
    return describe(table) if units else table


def describe(importance: pd.DataFrame) -> pd.DataFrame:
    """Add the ``unit``, ``group`` and ``description`` of registered neurograph features.

    Parameters
    ----------
    importance : pandas.DataFrame
        Table indexed by feature column name (e.g. from :func:`feature_importance`).

    Returns
    -------
    pandas.DataFrame
        ``importance`` with three more columns, joined on the index from
        :func:`neurograph.features.feature_table`; NaN for columns that are not registered
        features.
    """
    from ..features import feature_table

    reg = feature_table()[["unit", "group", "description"]]
    return importance.join(reg, how="left")
