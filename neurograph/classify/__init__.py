"""Cell-type classification from neuron feature tables.

::

    from neurograph import classify

    features = neurograph.neuron_features(neurons)            # one row per neuron
    result = classify.cross_validate(features, labels)         # balanced accuracy, macro F1, confusion
    model = classify.train(features, labels)                   # fitted sklearn Pipeline
    classify.predict(model, new_features)                      # class + probabilities
    classify.save_model(model, "model/"); classify.load_model("model/")
    classify.plot_confusion(result).savefig("confusion.png")

Pipelines are ``inf -> NaN``, median imputation, standard scaling and a classifier
(default: extra trees, 500 trees, balanced class weights). ``coarse=`` (in ``train`` and
``cross_validate``) trains a two-stage :class:`HierarchicalClassifier` instead: a coarse class first
(e.g. spiny / aspiny), then the label with a model per coarse class (an option; never the default).
:func:`estimate_scale` measures how much larger the neurons of a new dataset are than those of
the training set (tissue shrinks differently per dataset; opt-in): each new neuron against the
training neurons most like it in shape, so that a few neurons of one type are enough.
"""

from .align import estimate_scale
from .evaluate import CVResult, cross_validate, describe, feature_importance
from .hierarchical import HierarchicalClassifier
from .persist import load_model, save_model
from .pipeline import DEFAULT_MODEL, MODELS, build_pipeline, feature_matrix, label_strings, predict, train
from .plot import plot_confusion

__all__ = ["CVResult", "DEFAULT_MODEL", "HierarchicalClassifier", "MODELS", "build_pipeline", "cross_validate", "describe",
           "estimate_scale", "feature_importance", "feature_matrix", "label_strings", "load_model", "plot_confusion", "predict", "save_model", "train"]
