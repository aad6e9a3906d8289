"""Helpers for graded tests: tables of calls and expected errors, each run in ONE child.

Scenarios (``call_each``, ``which_raise``) are sent to the child as source code, so they
are self-contained; the checks (``check_table``, ``check_raises``) run in the test process
and report every wrong row at once, in the learner's terms::

    check_table(cost, "makespan", [(jobs, "seq", 2, 0, 4.0), ...], "one thread adds up everything")
    check_raises(cost, "makespan", [(jobs, "green_threads", 1, 0)], "ValueError")
"""

from __future__ import annotations

from typing import Any, Sequence

import pytest

from .runner import Impl


def call_each(module, name, rows):  # type: ignore[no-untyped-def]  # runs in the child
    """Call module.<name>(*row) for every row and return the results."""
    func = getattr(module, name)
    return [func(*row) for row in rows]


def which_raise(module, name, rows, exc_name):  # type: ignore[no-untyped-def]  # runs in the child
    """For every row: did module.<name>(*row) raise the built-in exception `exc_name`?
    Any other exception propagates, so a stub's NotImplementedError is reported as such."""
    import builtins

    expected = getattr(builtins, exc_name)
    out = []
    for row in rows:
        try:
            getattr(module, name)(*row)
        except expected:
            out.append(True)
        else:
            out.append(False)
    return out


def matches(value: Any, expected: Any) -> bool:
    """``value == expected`` for plain data, with numbers compared approximately at any depth
    (a tuple expected matches the list the child sends back)."""
    if isinstance(expected, bool) or expected is None or isinstance(expected, str):
        return type(value) is type(expected) and value == expected
    if isinstance(expected, (int, float)):
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value == pytest.approx(expected)
    if isinstance(expected, (list, tuple)):
        return (isinstance(value, list) and len(value) == len(expected)
                and all(matches(v, e) for v, e in zip(value, expected)))
    if isinstance(expected, dict):
        return (isinstance(value, dict) and value.keys() == expected.keys()
                and all(matches(value[k], e) for k, e in expected.items()))
    return bool(value == expected)


def check_table(impl: Impl, name: str, rows: Sequence[Sequence[Any]], what: str) -> None:
    """Each row is (args..., expected): assert name(*args) == expected (numbers approximately,
    at any depth of lists and dicts)."""
    __tracebackhide__ = True
    got = impl.run(call_each, name, [list(row[:-1]) for row in rows])
    wrong = [f"{name}{tuple(row[:-1])} should be {row[-1]!r}, got {value!r}"
             for row, value in zip(rows, got) if not matches(value, row[-1])]
    assert not wrong, f"{what}:\n" + "\n".join(wrong)


def check_raises(impl: Impl, name: str, rows: Sequence[Sequence[Any]], exc_name: str = "ValueError") -> None:
    """Assert that name(*row) raises `exc_name` for every row."""
    __tracebackhide__ = True
    raised = impl.run(which_raise, name, [list(row) for row in rows], exc_name)
    missing = [f"{name}{tuple(row)}" for row, ok in zip(rows, raised) if not ok]
    assert not missing, f"these should raise {exc_name}: " + ", ".join(missing)
