"""Fixtures of the browser test: a temporary copy of the course, the course's JupyterLab
serving it, and the system's Chromium driven by Playwright's Python package.

Playwright never downloads a browser here: it launches the system's ``chromium`` (Debian's
package; ``make browser-tools`` installs it). Without one the tests are skipped with a note,
unless COURSEKIT_REQUIRE_BROWSER=1 (CI sets it), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from browser_lab import CHROMIUM_ARGS, Lab, copy_course, serve


@pytest.fixture(scope="session")
def chromium() -> str:
    """The system Chromium's path ($COURSEKIT_CHROMIUM overrides the lookup)."""
    path = os.environ.get("COURSEKIT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        why = "chromium is not installed (make browser-tools, or sudo apt-get install chromium)"
        if os.environ.get("COURSEKIT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{why}; COURSEKIT_REQUIRE_BROWSER=1 requires it", pytrace=False)
        pytest.skip(f"browser test skipped: {why}")
    return path


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The course as it is in this checkout, copied, so that running lessons and saving an
    exercise never touch the repository's notebooks or exercises."""
    return copy_course(tmp_path_factory.mktemp("course"))


@pytest.fixture(scope="session")
def lab(chromium: str, course_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """The course's JupyterLab, serving the temporary copy of the course."""
    with serve(course_copy, tmp_path_factory.mktemp("jupyter-state")) as server:
        yield server


@pytest.fixture(scope="session")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
