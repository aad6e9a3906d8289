"""Grade one submission: the course's graded tests (and an instructor's extra tests) against
a prepared copy of it, with every call run inside that submission's sandbox.

The tests run with pytest in the grader's worker process, exactly as ``check()`` runs them;
only the launcher differs (sandbox.py). Each finished test is appended at once, as one JSON
line, to an events file, so that when a submission overruns its time bound and its worker is
killed, the tests that did finish keep their result.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
from pathlib import Path
from typing import Any, Generator

import pytest

from .checking import NO_TRUNCATION, _Collector, _task
from .manifest import Course
from .pytest_plugin import LAUNCHER, module_id_of
from .sandbox import MiB, Limits, Sandbox, SandboxError


class _Recorder(_Collector):
    """check()'s collector (a task whose test timed out skips its remaining tests), which
    also stores the sandbox's launcher for the tests and writes each outcome at once as an
    event, with whether the test is one of the instructor's hidden ones."""

    def __init__(self, sandbox: Sandbox, events: io.TextIOBase, hidden_root: Path | None) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.events = events
        self.hidden_root = hidden_root.resolve() if hidden_root else None

    def emit(self, **event: Any) -> None:
        _emit(self.events, **event)

    def pytest_configure(self, config: pytest.Config) -> None:
        config.stash[LAUNCHER] = self.sandbox.launcher()
        # pytest's long failure reports (source excerpts) cost ~20 ms a failed test, and a
        # reason is taken from the exception anyway (--tb itself is gone with no:terminal)
        config.option.tbstyle = "native"

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if module_id_of(item) is None:
            return report
        line = self.record(item, call, report)
        if line is not None:
            path = item.path.resolve()
            hidden = bool(self.hidden_root and (self.hidden_root == path or self.hidden_root in path.parents))
            self.emit(event="test", task=_task(item), nodeid=item.nodeid, hidden=hidden, **dataclasses.asdict(line))
        return report

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            lines = str(report.longrepr).strip().splitlines()
            self.emit(event="error", message=f"the tests could not be collected: {lines[-1] if lines else '?'}")


def test_files(course: Course, extra: Path | None) -> list[Path]:
    """The graded test files of every module, then the instructor's extra ones."""
    files = [course.root / m.tests for m in course.modules if (course.root / m.tests).is_file()]
    if extra is not None:
        files += sorted(extra.rglob("test_*.py")) if extra.is_dir() else [extra]
    return files


def _emit(events: io.TextIOBase, **event: Any) -> None:
    events.write(json.dumps(event) + "\n")
    events.flush()   # at once: a worker killed at the time bound keeps what it wrote


def grade(course: Course, folder: Path, events_path: Path, *, extra_tests: Path | None = None,
          timeout: float | None = None, slot: int = 0, isolate: bool = True,
          memory_mib: int = 2048) -> None:
    """Run every graded test against the submission in `folder` (a prepared copy) and append
    one JSON event per test to `events_path`. A call's processes may use `memory_mib` MiB
    (each, and together) and twice the call's time-out in CPU seconds, plus five."""
    with open(events_path, "a", encoding="utf-8") as events:
        def emit(**event: Any) -> None:
            _emit(events, **event)

        call_timeout = timeout or course.call_timeout
        limits = Limits(address_space=memory_mib * MiB, memory_total=memory_mib * MiB,
                        cpu_seconds=int(call_timeout * 2 + 5))
        try:
            sandbox = Sandbox(folder, slot=slot, limits=limits, isolate=isolate)
            sandbox.start()
        except SandboxError as exc:
            emit(event="error", message=str(exc))
            return
        emit(event="sandbox", isolated=sandbox.isolated, uid=sandbox.uid)
        recorder = _Recorder(sandbox, events, extra_tests)
        args = [
            *map(str, test_files(course, extra_tests)),
            f"--rootdir={course.root}", "-c", str(course.root / "pyproject.toml"),
            f"--target={folder}", f"--call-timeout={call_timeout}",
            "-p", "no:cacheprovider", "-p", "no:terminal", "-p", "pytest_timeout",
            "--import-mode=importlib", "--capture=no", *NO_TRUNCATION,
            # a backstop per test: every call already has its own deadline
            "-o", f"timeout={max(60, int(call_timeout * 6))}",
        ]
        os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                code = pytest.main(args, plugins=[recorder])
        finally:
            sandbox.close()
        if code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
            lines = sink.getvalue().strip().splitlines()
            emit(event="error", message=f"the tests could not run: {lines[-1] if lines else code!r}")
        emit(event="done")
