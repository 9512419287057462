"""Write the compatibility table of the own-model guide from the conformance corpus.

The table lists each pattern of ``tests/keras_code.py`` with where it is taught, the
engine its trials run on (or ``refused``) and the effect the corpus checks; the corpus
tests (``tests/test_keras_code.py``) assert each of those, so the table is measured, not
written by hand. ``python tools/compatibility_table.py`` rewrites the table between its
markers in ``docs/guides/own-model-and-data.md`` (:data:`PAGE`); the corpus test fails when
the page differs.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
PAGE = ROOT / "docs" / "guides" / "own-model-and-data.md"
START, END = "<!-- compatibility table: tools/compatibility_table.py -->", "<!-- end -->"


def table() -> str:
    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from keras_code import CORPUS
    finally:
        sys.path.pop(0)
    rows = ["| pattern | taught in | engine | what the corpus checks |", "|---|---|---|---|"]
    for pattern in CORPUS:
        rows.append(f"| {pattern.name} | {pattern.taught} | {pattern.engine} | "
                    f"{pattern.checks} |")
    return "\n".join([START, *rows, END])


def main() -> int:
    text = PAGE.read_text()
    if START not in text:
        print(f"{PAGE.relative_to(ROOT)} has no {START} marker", file=sys.stderr)
        return 1
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    PAGE.write_text(before + table() + after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
