"""`python -m coursekit.notebooks --prose`: Markdown edits reach a stored notebook without a re-run."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from coursekit.errors import CourseError
from coursekit.notebooks import copy_prose, main, out_of_sync, read_text

HEAD = "---\nkernelspec:\n  display_name: Python 3 (ipykernel)\n  language: python\n  name: python3\n---\n\n"


def lesson(tmp_path: Path, prose: str, code: str) -> Path:
    md = tmp_path / "99_x.md"
    md.write_text(HEAD + f"# {prose}\n\n```{{code-cell}} ipython3\n{code}\n```\n", encoding="utf-8")
    return md


def stored(md: Path) -> Path:
    nb = read_text(md)
    nb.cells[1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="measured 42\n")]
    nb.cells[1].execution_count = 1
    target = md.with_suffix(".ipynb")
    nbformat.write(nb, target)
    return target


def test_prose_is_copied_and_outputs_are_kept(tmp_path: Path) -> None:
    md = lesson(tmp_path, "Old title", "print(42)")
    target = stored(md)
    lesson(tmp_path, "New title, with a link", "print(42)")
    assert out_of_sync(target) is not None
    copy_prose(md)
    assert out_of_sync(target) is None
    nb = nbformat.read(target, as_version=4)
    assert "New title" in nb.cells[0].source
    assert nb.cells[1].outputs[0]["text"] == "measured 42\n" and nb.cells[1].execution_count == 1


def test_a_changed_code_cell_is_refused_and_nothing_is_written(tmp_path: Path, monkeypatch, capsys) -> None:
    md = lesson(tmp_path, "Title", "print(42)")
    target = stored(md)
    before = target.read_bytes()
    lesson(tmp_path, "Title", "print(43)")
    with pytest.raises(CourseError, match="a code cell differs"):
        copy_prose(md)
    assert target.read_bytes() == before
    monkeypatch.chdir(tmp_path)
    assert main(["--prose", str(md)]) == 1
    err = capsys.readouterr().err
    assert "run the lesson instead" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
