"""Grade a lesson's variants (tests/kit/variants_<id>.py) with the lesson's graded tests.

Grade behaviour, not the reference's shape: each alternative correct solution, written
differently, must pass every test of its task; each plausible wrong solution, which breaks one
rule of the statement, must fail at least the tests that check that rule.

Each variant is graded by its own pytest run (its own --target folder: the lesson's solutions
with the one file replaced). The runs are started together, three at a time, when the first
test asks for a result: most of a run is waiting for its children, and one after the other
they would take minutes. nbval is left out of those runs: importing it (nbformat, jsonschema)
costs more CPU than a task's tests. Slow variants (SLOW: those that wait out a safety net)
start first. A lesson's test file is then three lines::

    from variant_grading import variant_suite
    from variants_04_event_loop import SLOW, VARIANTS
    grades, test_variant_gets_the_right_grade = variant_suite("04_event_loop", TASK, VARIANTS, SLOW)
"""

from __future__ import annotations

import errno
import re
import shutil
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parents[2]
PARALLEL = 3

Variant = tuple[str, str, str, "set[str] | None"]


def changed(base: str, changes: list[tuple[str, str]]) -> str:
    """``base`` with each ``(old, new)`` replaced; each ``old`` must occur exactly once, so that a
    wrong variant breaks the one rule it names and a reworded alternative cannot silently drift."""
    for old, new in changes:
        assert base.count(old) == 1, f"{old!r} occurs {base.count(old)} times, not once"
        base = base.replace(old, new)
    return base


def grade(lesson: str, task: str, folder: Path, file: str, source: str) -> tuple[int, set[str], str]:
    """Run the lesson's graded tests of ``task`` on its solutions with ``file`` replaced by
    ``source``: (pytest's return code, the names of the failed tests, pytest's output)."""
    target = folder / lesson
    shutil.copytree(ROOT / "solutions" / lesson, target, ignore=shutil.ignore_patterns("__pycache__"))
    (target / file).write_text(source, encoding="utf-8")
    tests = f"tests/test_{lesson}.py"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:nbval", "-rf",
               str(ROOT / tests), f"--target={folder}", f"--task={task}"]
    for attempt in range(3):
        try:
            done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
            break
        except OSError as exc:
            # Starting the child failed before it ran a line (seen once: EFAULT from the
            # vfork+exec of _posixsubprocess while other pool threads were starting theirs), so
            # no verdict was lost: start it again. Any other failure is the test's to report.
            if exc.errno not in (errno.EFAULT, errno.EAGAIN) or attempt == 2:
                raise
    return done.returncode, set(re.findall(rf"FAILED {re.escape(tests)}::(\w+)", done.stdout)), done.stdout


def variant_suite(lesson: str, tasks: dict[str, str], variants: list[Variant],
                  slow: set[tuple[str, str]] = frozenset()) -> tuple[Any, Callable[..., None]]:
    """The module-scoped fixture ``grades`` and the parametrized test of a lesson's variants;
    ``tasks`` maps each task file to its task id."""

    @pytest.fixture(scope="module")
    def grades(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[tuple[str, str], Future]]:
        pool = ThreadPoolExecutor(PARALLEL)
        first = sorted(variants, key=lambda v: (v[0], v[1]) not in slow)
        futures = {(name, file): pool.submit(grade, lesson, tasks[file],
                                             tmp_path_factory.mktemp(f"{tasks[file]}-{name}"), file, source)
                   for name, file, source, _ in first}
        yield futures
        pool.shutdown(wait=True, cancel_futures=True)

    @pytest.mark.parametrize(("name", "file", "source", "must_fail"), variants,
                             ids=[f"{tasks[v[1]]}-{v[0]}" for v in variants])
    def test_variant_gets_the_right_grade(grades: dict, name: str, file: str, source: str,
                                          must_fail: set[str] | None) -> None:
        returncode, failed, stdout = grades[(name, file)].result()
        if must_fail is None:
            assert returncode == 0 and not failed, f"the alternative {name} should get full marks:\n{stdout[-3000:]}"
        else:
            assert must_fail <= failed, (f"the wrong solution {name} should fail {sorted(must_fail)}, "
                                         f"failed {sorted(failed)}:\n{stdout[-2000:]}")

    return grades, test_variant_gets_the_right_grade
