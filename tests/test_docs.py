"""The generated documentation matches the code (so it cannot rot)."""

import importlib.util
import re
from pathlib import Path

import numpy as np

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_feature_docs_are_current():
    spec = importlib.util.spec_from_file_location("make_feature_docs", DOCS / "make_feature_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "features.md").read_text(encoding="utf-8") == module.render(), \
        "docs/features.md is out of date: run python docs/make_feature_docs.py"


def test_readme_quick_start_runs_and_prints_what_the_readme_shows(tmp_path, monkeypatch, capsys):
    readme = (DOCS.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\n", readme.index("Ten lines on a real hemibrain neuron")) + len("```python\n")
    code = readme[start:readme.index("```", start)]
    shown = readme[readme.index("```\n", start + len(code) + 3) + 4:]
    shown = shown[:shown.index("```")]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README quick start", "exec"), {})
    printed = capsys.readouterr().out
    # same words, same numbers (within 2 %: newer dependency versions may move a decimal)
    num = re.compile(r"-?\d+\.?\d*")
    assert num.sub("#", printed).split() == num.sub("#", shown).split(), printed
    got, want = (np.array(num.findall(t), float) for t in (printed, shown))
    np.testing.assert_allclose(got, want, rtol=0.02, atol=0.15)
    assert (tmp_path / "example.neuron.zip").exists()
