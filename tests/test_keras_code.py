"""The conformance corpus (``tests/keras_code.py``): each pattern of Keras code as the
keras.io guides and keras-tuner docs write it trains as written, on the engine it
declares, or is refused before training."""
import sys
from pathlib import Path

import pytest

from keras_code import CORPUS

ROOT = Path(__file__).parents[1]


def test_the_corpus_has_at_least_25_patterns():
    assert len(CORPUS) >= 25
    assert len({p.name for p in CORPUS}) == len(CORPUS)
    assert {p.engine for p in CORPUS} == {"compiled", "fit", "refused"}


@pytest.mark.parametrize("pattern", CORPUS, ids=[p.run.__name__.strip("_") for p in CORPUS])
def test_pattern(pk, pattern, tmp_path, monkeypatch):
    pattern.run(pk, tmp_path, monkeypatch)


def test_the_guides_compatibility_table_is_the_corpus():
    sys.path.insert(0, str(ROOT / "tools"))
    try:
        from compatibility_table import PAGE, table
    finally:
        sys.path.pop(0)
    assert PAGE == ROOT / "docs" / "guides" / "own-model-and-data.md"
    assert table() in PAGE.read_text(), \
        f"{PAGE.name}'s table differs: run python tools/compatibility_table.py"
