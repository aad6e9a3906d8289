"""coursekit: the course machinery (the code the lessons teach with is in ``lessons``).

General layout:
  manifest.py       course.yml loaded and validated (Course, Module, Task)
  build.py          exercises/ generated from solutions/
  runner.py         the process boundary: code under test runs in killable child processes
  pytest_plugin.py  --target, task markers, the `exercise` fixture, the teeth check
  checking.py       check() and hint() for learners
  cli.py            python -m coursekit ...
  testing.py        table and error checks for graded tests

The grader (python -m coursekit grade):
  grader.py         the command: submissions scheduled on forked workers, time bounds, summary
  submissions.py    finding, checking and copying submissions (folders and zips)
  grading.py        one submission's tests, run with its sandbox's launcher
  sandbox.py        bubblewrap around a warm template process (design essay at its top)
  quota.py          a uid and a cgroup of its own for each sandbox (reserved, freed on exit)
  _template.py      the template: forks a clean child per call inside the sandbox
  _child.py         the harness run in every child (stdlib only)
  reports.py        results.json (Gradescope), feedback.md, grades.csv, JUnit XML
  bundle.py         the Gradescope autograder zip

In a notebook::

    from coursekit import check, hint
    check("01.2")
"""

from __future__ import annotations

from typing import Any

__all__ = ["check", "hint", "syllabus"]


def check(what: str, hint: bool = False) -> None:
    """Run the tests of task `what` (``"01.2"``) or of a whole module (``"01"``) against your
    exercise file and print one line per test. ``hint=True`` also prints the hint."""
    from .checking import check as _check
    _check(what, hint=hint)


def hint(task_id: str) -> None:
    """Print the hint for a task, e.g. ``hint("01.2")``."""
    from .checking import hint as _hint
    _hint(task_id)


def syllabus() -> Any:
    """Print the course table with your progress (the same as ``python -m coursekit syllabus``)."""
    from .cli import syllabus_table
    from .manifest import load_course
    print(syllabus_table(load_course()))
