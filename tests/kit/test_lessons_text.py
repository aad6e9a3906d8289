"""Each lesson's text source and its notebook agree, and the notebook checks its own claims.

- ``notebooks/<id>.md`` (MyST, the source an author edits) and ``notebooks/<id>.ipynb`` (what
  ``make notebooks`` runs it into) have the same cells, for every module of course.yml.
- At least ``CHECKED_GOAL`` of each lesson's code cells are *checked*: nbval compares their
  output (no ``NBVAL_IGNORE_OUTPUT``) or the cell asserts its claim (an ``assert`` that nbval
  runs). A cell that nbval skips is never checked. The shares are printed (``-rP``).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from coursekit.manifest import load_course
from coursekit.notebooks import out_of_sync, read_text

ROOT = Path(__file__).resolve().parents[2]
MODULES = [m.id for m in load_course(ROOT).modules]
CHECKED_GOAL = 0.70

_IGNORED = re.compile(r"^\s*#\s*NBVAL_IGNORE_OUTPUT\b", re.M)
_SKIPPED = re.compile(r"^\s*#\s*NBVAL_SKIP\b", re.M)


def _asserts(source: str) -> bool:
    code = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in source.splitlines())
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False
    return any(isinstance(node, ast.Assert) for node in ast.walk(tree))


def classify(cell: nbformat.NotebookNode) -> str:
    """``skipped``, ``compared`` (output compared by nbval), ``asserted`` (output ignored but the
    cell asserts its claim) or ``unchecked``."""
    tags = set(cell.get("metadata", {}).get("tags", ()))
    if _SKIPPED.search(cell.source) or "nbval-skip" in tags:
        return "skipped"
    if not (_IGNORED.search(cell.source) or "nbval-ignore-output" in tags):
        return "compared"
    return "asserted" if _asserts(cell.source) else "unchecked"


@pytest.mark.parametrize("module", MODULES)
def test_text_source_and_notebook_agree(module: str) -> None:
    problem = out_of_sync(ROOT / "notebooks" / f"{module}.ipynb")
    assert problem is None, problem


@pytest.mark.parametrize("module", MODULES)
def test_lesson_checks_its_claims(module: str) -> None:
    nb = read_text(ROOT / "notebooks" / f"{module}.md")
    kinds = [classify(c) for c in nb.cells if c.cell_type == "code"]
    checked = sum(k in ("compared", "asserted") for k in kinds)
    share = checked / len(kinds)
    print(f"{module}: {checked}/{len(kinds)} code cells checked ({share:.0%}): "
          f"{kinds.count('compared')} compared, {kinds.count('asserted')} asserted, "
          f"{kinds.count('unchecked')} unchecked, {kinds.count('skipped')} skipped")
    assert share >= CHECKED_GOAL, (
        f"{module}: only {share:.0%} of code cells are checked (goal {CHECKED_GOAL:.0%}); give the "
        f"NBVAL_IGNORE_OUTPUT cells an assert on the shape of their claim")


def test_classify_tells_the_kinds_apart() -> None:
    cell = nbformat.v4.new_code_cell
    assert classify(cell("x = 1")) == "compared"
    assert classify(cell("# NBVAL_IGNORE_OUTPUT\nprint(t)")) == "unchecked"
    assert classify(cell("# NBVAL_IGNORE_OUTPUT\nprint(t)\nassert t > 0")) == "asserted"
    assert classify(cell("# NBVAL_SKIP\nassert t > 0")) == "skipped"
    assert classify(cell("# NBVAL_IGNORE_OUTPUT\n%timeit f()\nassert 'x' in s")) == "asserted"


def test_lesson_template_reads_and_has_the_house_shape() -> None:
    nb = read_text(ROOT / "templates" / "lesson.md")
    text = "\n".join(c.source for c in nb.cells)
    for part in ("**What you'll learn:**", "## The question", "machine.check()", "check(",
                 "## Grade the seed's claims", "## Check your understanding"):
        assert part in text, f"templates/lesson.md lost {part!r}"
    assert any(classify(c) == "asserted" for c in nb.cells if c.cell_type == "code")
