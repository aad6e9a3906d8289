"""Lesson 03's graded tests against other solutions than the reference (tests/kit/variants_03_selectors.py).

Grade behaviour, not the reference's shape: each alternative correct solution, written
differently, must pass every test of its task; each plausible wrong solution, which breaks one
rule of the statement, must fail the tests that check that rule.

Why not one pytest subprocess per variant, as for lesson 05: pytest's start-up alone (nbval
loads nbformat and jsonschema) costs seconds a run, and several wrong solutions hang until the
runner's time limit. So the graded test functions are imported and called here with an
``exercise`` of our own, whose Impl has a 4 s limit (hang_limit() halves it), and a wrong
solution runs only the tests it must fail. Each call still runs in a fresh child process.
"""

import importlib.util
import inspect
import shutil
import sys
from pathlib import Path

import pytest

from coursekit.runner import Impl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variants_03_selectors import VARIANTS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
TASK = {"line_reader.py": "03.1", "send_all.py": "03.2", "echo_server.py": "03.3"}


def _graded_module():
    spec = importlib.util.spec_from_file_location("graded_03_selectors", ROOT / "tests" / "test_03_selectors.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GRADED = _graded_module()


def graded_tests_of(task_id):
    """The graded test functions of one task, by name."""
    found = {}
    for name, fn in inspect.getmembers(GRADED, inspect.isfunction):
        marks = [m for m in getattr(fn, "pytestmark", []) if m.name == "task"]
        if name.startswith("test_") and marks and marks[0].args[0] == task_id:
            found[name] = fn
    return found


def test_every_task_has_variants():
    for task_id in TASK.values():
        names = set(graded_tests_of(task_id))
        assert len(names) >= 6, f"task {task_id} has only {len(names)} graded tests"
        wrong = [v for v in VARIANTS if TASK[v[1]] == task_id and v[3] is not None]
        assert len(wrong) >= 4 and any(TASK[v[1]] == task_id and v[3] is None for v in VARIANTS)
        for name, _, _, must_fail in wrong:
            assert must_fail <= names, f"{name} names tests that do not exist: {sorted(must_fail - names)}"


@pytest.mark.parametrize(("name", "file", "source", "must_fail"), VARIANTS,
                         ids=[f"{TASK[v[1]]}-{v[0]}" for v in VARIANTS])
def test_variant_gets_the_right_grade(tmp_path, name, file, source, must_fail):
    target = tmp_path / "03_selectors"
    shutil.copytree(ROOT / "solutions" / "03_selectors", target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / file).write_text(source, encoding="utf-8")

    def exercise(stem):
        return Impl(target, stem, timeout=4.0)

    tests = graded_tests_of(TASK[file])
    chosen = tests if must_fail is None else {n: tests[n] for n in sorted(must_fail)}
    failed = {}
    for test_name, fn in chosen.items():
        try:
            fn(exercise)
        except AssertionError as exc:   # CallFailed is an AssertionError too
            failed[test_name] = str(exc).splitlines()[0][:300]
    if must_fail is None:
        assert not failed, f"the alternative {name} should get full marks; it failed {failed}"
    else:
        missed = sorted(set(must_fail) - set(failed))
        assert not missed, f"the wrong solution {name} should fail {missed} too; it failed only {sorted(failed)}"
