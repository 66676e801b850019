"""The generated documentation matches the code (so it cannot rot)."""

import importlib.util
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_feature_docs_are_current():
    spec = importlib.util.spec_from_file_location("make_feature_docs", DOCS / "make_feature_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "features.md").read_text(encoding="utf-8") == module.render(), \
        "docs/features.md is out of date: run python docs/make_feature_docs.py"
