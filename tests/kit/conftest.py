"""Fixtures for the support package's own tests."""

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
