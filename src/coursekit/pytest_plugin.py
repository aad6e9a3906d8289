"""pytest plugin: choose the code under test, tag tests with tasks, and check the tests' teeth.

Options:
  --target=solutions|exercises|PATH   the folder laid out like exercises/ to test (default solutions)
  --task=ID                           only the tests of this task (repeatable)
  --teeth                             expect every graded test to FAIL (run it with --target=exercises)
  --call-timeout=S                    seconds per runner call (default: course.yml's call_timeout)

In a test file ``tests/test_<module id>.py`` every test carries ``@pytest.mark.task("01.2")``
and reaches the code under test only through the ``exercise`` fixture::

    def test_sequential_is_the_sum(exercise):
        cost = exercise("cost_model")          # exercises|solutions/<module id>/cost_model.py
        assert cost.call("makespan", [[1, 0]], "seq", 1) == 1
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Generator

import pytest

from .errors import CourseError
from .manifest import Course, load_course
from .runner import Impl, Launcher

GRADED_FILE = re.compile(r"^test_(\d\d_[a-z0-9_]+)\.py$")
_COURSE = pytest.StashKey[Course]()
_TARGET = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("coursekit")
    group.addoption("--target", default="solutions",
                    help="code under test: solutions, exercises, or a folder laid out like exercises/")
    group.addoption("--task", action="append", default=[], help="run only the tests of this task id")
    group.addoption("--teeth", action="store_true",
                    help="invert graded results: each graded test must fail (use with --target=exercises)")
    group.addoption("--call-timeout", type=float, default=None, help="seconds per call to the code under test")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "task(id): the course task a graded test belongs to")


def course_of(config: pytest.Config) -> Course:
    if _COURSE not in config.stash:
        try:
            config.stash[_COURSE] = load_course(Path(str(config.rootpath)))
        except CourseError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[_COURSE]


def target_of(config: pytest.Config) -> Path:
    if _TARGET not in config.stash:
        root = course_of(config).root
        value = config.getoption("--target")
        path = root / value if value in ("solutions", "exercises") else Path(value).expanduser().resolve()
        if not path.is_dir():
            raise pytest.UsageError(f"--target {value}: no such folder {path}")
        config.stash[_TARGET] = path
    return config.stash[_TARGET]


def module_id_of(item: pytest.Item) -> str | None:
    """The module a graded test file belongs to: ``test_<module id>.py``, or for an
    instructor's extra tests ``test_<module id>_<anything>.py``."""
    match = GRADED_FILE.match(item.path.name)
    if not match:
        return None
    stem = match.group(1)
    ids = [m.id for m in course_of(item.config).modules]
    return max((i for i in ids if stem == i or stem.startswith(i + "_")), key=len, default=stem)


def task_of(item: pytest.Item) -> str | None:
    marks = list(item.iter_markers("task"))
    return str(marks[0].args[0]) if marks and marks[0].args else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("--task"))
    course = course_of(config)
    problems = []
    keep = []
    for item in items:
        module_id = module_id_of(item)
        if module_id is None:
            if not wanted:
                keep.append(item)
            continue
        marks = list(item.iter_markers("task"))
        task = task_of(item)
        if len(marks) != 1 or task is None:
            problems.append(f"{item.nodeid}: a graded test needs exactly one @pytest.mark.task(id)")
        elif task not in course.tasks or course.tasks[task].module_id != module_id:
            problems.append(f"{item.nodeid}: task {task!r} is not a task of module {module_id} in course.yml")
        if not wanted or task in wanted:
            keep.append(item)
    if problems:
        raise pytest.UsageError("; ".join(problems))
    unknown = wanted - set(course.tasks)
    if unknown:
        raise pytest.UsageError(f"--task: no such task {', '.join(sorted(unknown))} in course.yml")
    if wanted:
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
    items[:] = keep
    if any(module_id_of(i) for i in keep):
        target_of(config)   # a bad --target is one usage error, not an error per test


@pytest.fixture
def exercise(request: pytest.FixtureRequest) -> Callable[[str], Impl]:
    """A factory: ``exercise("cost_model")`` is the Impl of cost_model.py of this test file's
    module, in the folder chosen by --target."""
    config = request.config
    module_id = module_id_of(request.node)
    if module_id is None:
        raise pytest.UsageError(f"{request.node.nodeid}: the exercise fixture is for tests/test_<module id>.py files")
    course = course_of(config)
    timeout = config.getoption("--call-timeout") or course.call_timeout
    folder = target_of(config) / module_id
    value = config.getoption("--target")
    label = f"{value}/{module_id}" if value in ("solutions", "exercises") else module_id

    def load(stem: str) -> Impl:
        return Impl(folder, stem, timeout=timeout, launcher=launcher_of(config), label=label)

    return load


LAUNCHER = pytest.StashKey[Launcher]()


def launcher_of(config: pytest.Config) -> Launcher:
    """The launcher every Impl uses. A grader puts its sandbox around the code under test by
    storing its own Launcher in ``config.stash[LAUNCHER]`` before the tests run."""
    return config.stash.get(LAUNCHER, None) or Launcher()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not item.config.getoption("--teeth") or module_id_of(item) is None or call.when != "call":
        return report
    if report.passed:
        report.outcome = "failed"
        report.longrepr = (f"{item.nodeid} PASSED against {item.config.getoption('--target')}: "
                           "this test cannot tell an unsolved stub from a solution")
    elif report.failed:
        report.outcome = "passed"
        report.longrepr = None
    return report
