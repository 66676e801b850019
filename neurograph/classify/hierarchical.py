"""Two-stage (hierarchical) classification: a coarse class first, then the fine class within it.

Cortical layer and Cre line are read differently from pyramidal cells and from interneurons: a
pyramidal cell's apical dendrite reaches layer 1 and so carries its soma's depth, an interneuron's
dendrites do not. :class:`HierarchicalClassifier` first predicts a coarse class (e.g. the dendrite type,
spiny / aspiny, told apart at 0.997 on the Allen cells), then the fine class with a model trained on the
cells of that coarse class only: its class weights balance the fine classes *within* the coarse class,
and it uses only the columns that vary among those cells (an interneuron's apical columns are empty).

It is an option (``coarse=`` in :func:`~neurograph.classify.train` and
:func:`~neurograph.classify.cross_validate`), never the default, which other datasets share.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin

from ..errors import InputError
from .pipeline import DEFAULT_MODEL, build_pipeline, fit_labels, label_strings

ROUTINGS = ("hard", "soft")


class HierarchicalClassifier(ClassifierMixin, BaseEstimator):
    """Coarse class, then the fine class with a model per coarse class.

    Parameters
    ----------
    model : str
        Classifier of both stages (:func:`~neurograph.classify.build_pipeline`).
    random_state : int
    routing : {"hard", "soft"}
        ``"hard"``: a cell gets the fine-class probabilities of the model of its most probable
        coarse class (0 for fine classes that coarse class never holds). ``"soft"``:
        ``P(fine) = sum_c P(c) P(fine | c)`` over the coarse classes.
    params : dict, optional
        Classifier parameters (both stages), e.g. ``{"n_estimators": 1000}``.

    Attributes
    ----------
    classes_ : ndarray of str
        The fine classes, sorted.
    coarse_classes_ : ndarray of str
    feature_names_in_ : ndarray of str
    coarse_model_ : Pipeline
        Stage 1, trained on every cell.
    fine_models_ : dict
        Coarse class -> fitted Pipeline of stage 2 (its ``feature_names_in_``: the columns that vary
        among that class's training cells), or the one fine class (str) when the coarse class holds
        a single fine class.
    """

    def __init__(self, model: str = DEFAULT_MODEL, random_state: int = 0, routing: str = "hard",
                 params: dict | None = None):
        self.model = model
        self.random_state = random_state
        self.routing = routing
        self.params = params

    def fit(self, X: pd.DataFrame, y: Any, coarse: Any = None) -> HierarchicalClassifier:
        """Fit both stages.

        Parameters
        ----------
        X : pandas.DataFrame
            Numeric feature matrix (NaN allowed), one row per neuron.
        y : (n,) array-like
            Fine class per row (any label type: :func:`~neurograph.classify.label_strings`).
        coarse : (n,) array-like
            Coarse class per row (required).

        Returns
        -------
        HierarchicalClassifier
        """
        if self.routing not in ROUTINGS:
            raise InputError(f"unknown routing {self.routing!r}; use one of {ROUTINGS}")
        if coarse is None:
            raise InputError("HierarchicalClassifier.fit needs the coarse class of every row (coarse=)")
        X = pd.DataFrame(X)
        fine = label_strings(pd.Series(np.asarray(y, dtype=object))).to_numpy(dtype=str)
        group = label_strings(pd.Series(np.asarray(coarse, dtype=object))).to_numpy(dtype=str)
        if len(fine) != len(X) or len(group) != len(X):
            raise InputError(f"{len(X)} rows, {len(fine)} labels and {len(group)} coarse labels; give one per row")
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.classes_ = np.unique(fine)
        self.coarse_classes_ = np.unique(group)
        if len(self.coarse_classes_) < 2:
            raise InputError(f"need at least two coarse classes, got {list(self.coarse_classes_)}")
        self.coarse_model_ = fit_labels(build_pipeline(self.model, self.random_state, **(self.params or {})), X, group)
        self.fine_models_ = {}
        values = X.to_numpy(dtype=float)
        for c in self.coarse_classes_:
            m = group == c
            classes = np.unique(fine[m])
            if len(classes) == 1:
                self.fine_models_[c] = str(classes[0])
                continue
            v = np.where(np.isfinite(values[m]), values[m], np.nan)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns: NaN, compare False
                varies = np.nanmax(v, axis=0) > np.nanmin(v, axis=0)
            cols = list(X.columns[varies]) if varies.any() else list(X.columns)
            pipe = build_pipeline(self.model, self.random_state, **(self.params or {}))
            self.fine_models_[c] = fit_labels(pipe, X.loc[m, cols], fine[m])
        return self

    def _fine_proba(self, X: pd.DataFrame, c: str) -> np.ndarray:
        out = np.zeros((len(X), len(self.classes_)))
        sub = self.fine_models_[c]
        if isinstance(sub, str):
            out[:, np.searchsorted(self.classes_, sub)] = 1.0
            return out
        p = sub.predict_proba(X[list(sub.feature_names_in_)])
        out[:, np.searchsorted(self.classes_, np.asarray(sub.classes_, dtype=str))] = p
        return out

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Fine-class probabilities, columns in the order of :attr:`classes_`.

        Parameters
        ----------
        X : pandas.DataFrame
            Holds the training columns.

        Returns
        -------
        (n, n_classes) ndarray
        """
        X = pd.DataFrame(X)[list(self.feature_names_in_)]
        pc = self.coarse_model_.predict_proba(X)
        coarse = np.asarray(self.coarse_model_.classes_, dtype=str)
        out = np.zeros((len(X), len(self.classes_)))
        best = pc.argmax(axis=1)
        for k, c in enumerate(coarse):
            if self.routing == "soft":
                out += pc[:, [k]] * self._fine_proba(X, c)
            elif (best == k).any():
                out[best == k] = self._fine_proba(X.iloc[best == k], c)
        return out

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Most probable fine class of every row."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]
