"""check(): a task's graded tests against the learner's exercise file, explained in their terms.

The tests run with pytest in this process (the notebook kernel or the terminal), but the
learner's code only ever runs in the runner's child processes. So a hang, a crash or an
``os._exit()`` in the learner's code costs a failed line, never the kernel, and every check
reads the file as last saved - no kernel restart needed.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Generator

import pytest

from .build import write_atomic
from .errors import CourseError
from .manifest import Course, Task, load_course
from .runner import CallFailed, CallTimeout, LearnerError, NotImplementedYet

PROGRESS = Path(".coursekit") / "progress.json"
NOT_RUN = "an earlier test of this task timed out"
# pytest shortens an assertion's explanation, except on CI: never, so that a reason reads the
# same everywhere (_trim bounds it)
NO_TRUNCATION = ("-o", "truncation_limit_lines=0", "-o", "truncation_limit_chars=0")


@dataclass
class Line:
    """One test, or one case of a parametrized test: what check(), feedback.md and
    results.json each show as one line and count as one test."""
    name: str
    passed: bool
    reason: str = ""
    not_implemented: bool = False
    timed_out: bool = False
    not_run: bool = False
    skipped: str = ""       # why pytest skipped it (a version gate): neither passed nor failed
    case: str = ""          # which case of a parametrized test, e.g. "n=4"

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> "Line":
        """A Line from the grader's event for it (events.jsonl), extra keys ignored."""
        return cls(**{f.name: event[f.name] for f in fields(cls) if f.name in event})

    @property
    def label(self) -> str:
        return f"{self.name} [{self.case}]" if self.case else self.name

    def row(self) -> tuple[str, str, str]:
        """(mark, text, reason): the line check() prints and feedback.md lists."""
        if self.skipped:
            return "·", f"{self.label} (skipped: {self.skipped})", ""
        if self.not_run:
            return "✗", f"{self.label} (not run: {NOT_RUN})", ""
        if self.passed:
            return "✓", self.label, ""
        return "✗", self.label, self.reason


@dataclass
class TaskResult:
    task: Task
    lines: list[Line] = field(default_factory=list)
    target: str = "exercises"

    @property
    def counted(self) -> list[Line]:
        """The tests that ran or should have: skipped ones count neither way."""
        return [line for line in self.lines if not line.skipped]

    @property
    def passed(self) -> int:
        return sum(line.passed for line in self.counted)

    @property
    def solved(self) -> bool:
        return bool(self.counted) and all(line.passed for line in self.counted)

    def render(self, hint: bool = False, terminal: bool = False) -> str:
        """One line per test and per case of a parametrized test (the lines the count
        counts), then what to do next: as a notebook's check() says it, or with `terminal`,
        as `python -m coursekit check` says it."""
        t = self.task
        out = [f"{t.id} {t.title}"]
        for line in self.lines:
            mark, text, reason = line.row()
            out.append(f"  {mark} {text}")
            out += [f"      {r}" if r.strip() else "" for r in reason.splitlines()]
        total = len(self.counted)
        path = f"{self.target}/{t.module_id}/{t.file}"
        if not total:
            out.append("  (no tests ran)")
        elif self.solved:
            every = f"All {total} tests pass" if total > 1 else "The test passes"
            out.append(f"  {every}: task {t.id} is solved.")
        elif self.passed == 0 and all(line.not_implemented for line in self.counted):
            out.append(f"  Not started yet: write your code in {path}, save it, and check again.")
        else:
            out.append(f"  {self.passed} of {total} tests pass. Edit {path}, save, and check again.")
        if not self.solved and total:
            ask = f"`.venv/bin/python -m coursekit hint {t.id}`" if terminal else f'hint("{t.id}")'
            out.append(f"  Hint: {t.hint}" if hint else f"  Stuck? {ask} shows a hint.")
        return "\n".join(out)


class _Collector:
    """A pytest plugin object that keeps, per test, whether it passed and why not."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, Line]] = []
        self.errors: list[str] = []
        self.stopped: set[str] = set()   # tasks with a timed-out test: their other tests are not run

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        # One time-out per task is enough to know, and keeps check() within about one timeout
        # per task; other tasks still run, so their status stays true.
        if _task(item) in self.stopped:
            pytest.skip(NOT_RUN)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[Any]
                                  ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        self.record(item, call, report)
        return report

    def record(self, item: pytest.Item, call: pytest.CallInfo[Any], report: pytest.TestReport) -> Line | None:
        """Keep the outcome of a test's call (or of a setup that failed or skipped it)."""
        if not (call.when == "call" or (call.when == "setup" and not report.passed)):
            return None
        task = _task(item)
        name, case = _describe(item), _case(item)
        if report.passed:
            line = Line(name, True, case=case)
        elif report.failed:
            exc = call.excinfo.value if call.excinfo else None
            line = Line(name, False, _reason(exc, report),
                        not_implemented=isinstance(exc, NotImplementedYet),
                        timed_out=isinstance(exc, CallTimeout), case=case)
            if line.timed_out:
                self.stopped.add(task)
        elif _skip_reason(report) == NOT_RUN:
            line = Line(name, False, not_run=True, case=case)
        else:
            line = Line(name, False, skipped=_skip_reason(report), case=case)
        self.lines.append((task, line))
        return line

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(str(report.longrepr))


def _task(item: pytest.Item) -> str:
    return next((str(m.args[0]) for m in item.iter_markers("task") if m.args), "")


def _describe(item: pytest.Item) -> str:
    doc = getattr(getattr(item, "function", None), "__doc__", None)
    if doc and doc.strip():
        return doc.strip().splitlines()[0].rstrip(".")
    return getattr(item, "originalname", item.name).removeprefix("test_").replace("_", " ")


def _case(item: pytest.Item) -> str:
    """Which case of a parametrized test `item` is: its parameters as ``name=value``, or the
    ids the test gave its cases; "" for a test that is not parametrized."""
    spec = getattr(item, "callspec", None)
    if spec is None:
        return ""
    explicit = any(m.kwargs.get("ids") is not None
                   or any(getattr(v, "id", None) is not None for v in (m.args[1] if len(m.args) > 1 else ()))
                   for m in item.iter_markers("parametrize"))
    shown = ", ".join(f"{k}={v!r}" for k, v in spec.params.items())
    # pytest's id unless the values are short plain data, whose repr reads well and is the
    # same every run (an object's repr may hold its address)
    return spec.id if explicit or len(shown) > 60 or not all(map(_plain, spec.params.values())) else shown


def _plain(value: object) -> bool:
    if value is None or isinstance(value, (bool, int, float, str, bytes)):
        return True
    if isinstance(value, (tuple, list)):   # not sets: their order varies from run to run
        return all(map(_plain, value))
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def _skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return "skipped"


# pytest's advice to run it with -v or -vv: check() and the grader take no such option
_VERBOSE_ADVICE = re.compile(r"(?im)^[ \t]*use -v+ to get (?:more|the full) diff[ \t]*(?:\n|$)|,? use '?-v+'? to show")


def _reason(exc: BaseException | None, report: pytest.TestReport) -> str:
    """What went wrong, in the learner's terms: our messages are written for them; a plain
    assertion shows its message, or pytest's explanation when it has none."""
    return _VERBOSE_ADVICE.sub("", _raw_reason(exc, report))


def _raw_reason(exc: BaseException | None, report: pytest.TestReport) -> str:
    if isinstance(exc, NotImplementedYet):
        return exc.exc_message.split(": ", 1)[-1]
    if isinstance(exc, LearnerError):
        return _trim(f"your code raised {exc}", 30)
    if isinstance(exc, CallFailed):
        return _trim(str(exc), 40)
    if isinstance(exc, AssertionError):
        text = str(exc)
        return _trim(text if text else report.longreprtext, 12)
    if exc is not None:
        return _trim(f"{type(exc).__name__}: {exc}", 12)
    return _trim(report.longreprtext, 12)


def _trim(text: str, max_lines: int) -> str:
    lines = [line.rstrip() for line in text.strip().splitlines()]
    if len(lines) > max_lines:
        lines = lines[: max_lines - 1] + [f"... ({len(lines) - max_lines + 1} more lines)"]
    return "\n".join(lines)


def run_check(task_ids: list[str], course: Course | None = None, target: str = "exercises") -> list[TaskResult]:
    """Run the graded tests of `task_ids` against `target` and return one result per task."""
    course = course or load_course()
    tasks = [course.task(t) for t in task_ids]
    files = sorted({str(course.root / course.module(t.module_id).tests) for t in tasks})
    collector = _Collector()
    args = [
        *files,
        f"--rootdir={course.root}", "-c", str(course.root / "pyproject.toml"),
        f"--target={target}", "-p", "no:cacheprovider", "-p", "no:terminal",
        "--capture=no", "-o", "timeout=0", *NO_TRUNCATION,
        *(f"--task={t.id}" for t in tasks),
    ]
    for f in files:
        # pytest caches test modules by basename: drop ours so each check imports the test
        # file from this course's folder afresh (a notebook kernel checks many times).
        sys.modules.pop(Path(f).stem, None)
    sink = io.StringIO()
    saved = os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only our plugin: faster, and no surprises
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            code = pytest.main(args, plugins=[collector])
    finally:
        if saved is None:
            os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = saved
    if collector.errors or code in (pytest.ExitCode.USAGE_ERROR, pytest.ExitCode.INTERNAL_ERROR):
        detail = (collector.errors or [sink.getvalue()])[0].strip().splitlines()
        raise CourseError(f"the tests could not run: {detail[-1] if detail else code!r}")
    results = []
    for t in tasks:
        lines = [line for task, line in collector.lines if task == t.id]
        results.append(TaskResult(t, lines, target))
    if target == "exercises":
        record_progress(course, results)
    return results


def record_progress(course: Course, results: list[TaskResult]) -> None:
    path = course.root / PROGRESS
    data = load_progress(course)
    for r in results:
        data[r.task.id] = {"status": "solved" if r.solved else "unsolved", "passed": r.passed,
                           "total": len(r.counted), "checked_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
    try:
        write_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass  # a read-only checkout still checks; it only forgets


def load_progress(course: Course) -> dict[str, Any]:
    try:
        data = json.loads((course.root / PROGRESS).read_text("utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def resolve(course: Course, what: str) -> list[str]:
    """Task ids for a task id (``01.2``), a module id (``01_processes_threads``) or its number (``01``)."""
    if what in course.tasks:
        return [what]
    for m in course.modules:
        if what in (m.id, m.number):
            return [t.id for t in m.tasks]
    raise CourseError(f"no task or module {what!r} in course.yml (tasks: {', '.join(course.tasks)})")


def check(what: str, hint: bool = False, target: str = "exercises") -> None:
    """Check a task (``check("01.2")``) or every task of a module (``check("01")``) and print
    one line per test: ✓, or ✗ with the reason. ``hint=True`` adds the task's hint."""
    try:
        course = load_course()
        results = run_check(resolve(course, what), course, target)
    except CourseError as exc:
        print(f"check: {exc}")
        return
    print(render_all(results, hint))


def render_all(results: list[TaskResult], hint: bool = False, terminal: bool = False) -> str:
    """What check() (or, with `terminal`, `coursekit check`) prints: one block per task."""
    return "\n\n".join(r.render(hint, terminal) for r in results)


def hint_text(task: Task) -> str:
    return f"{task.id} {task.title}\nHint: {task.hint}"


def hint(task_id: str) -> None:
    """Print the hint of a task."""
    try:
        task = load_course().task(task_id)
    except CourseError as exc:
        print(f"hint: {exc}")
        return
    print(hint_text(task))
