"""Fixtures for the support package's own tests."""

import shutil
import textwrap
from pathlib import Path

import pytest

from coursekit.runner import Impl


@pytest.fixture
def make_module(tmp_path: Path):
    """make_module("name", "source") writes name.py in a fresh folder and returns its Impl."""

    def make(name: str, source: str, timeout: float = 5.0) -> Impl:
        folder = tmp_path / "target"
        folder.mkdir(exist_ok=True)
        (folder / f"{name}.py").write_text(textwrap.dedent(source), "utf-8")
        return Impl(folder, name, timeout=timeout)

    return make


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def course_root(tmp_path: Path) -> Path:
    """A copy of the course (manifest, README, solutions, exercises, graded tests) to change freely."""
    for name in ("course.yml", "README.md", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    for name in ("solutions", "exercises", "tests"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "kit"))
    from coursekit.bundle import TEST_FIXTURES      # lesson files the graded tests read as source
    for name in TEST_FIXTURES:
        ((tmp_path) / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path
