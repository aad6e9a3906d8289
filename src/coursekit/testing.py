"""Helpers for graded tests: tables of calls and expected errors, each run in ONE child.

Scenarios (``call_each``, ``which_raise``) are sent to the child as source code, so they
are self-contained; the checks (``check_table``, ``check_raises``) run in the test process
and report every wrong row at once, in the learner's terms, one sentence per row::

    check_table(cost, "makespan", [(jobs, "seq", 2, 0, 4.0), ...], "one thread adds up everything")
    check_raises(cost, "makespan", [(jobs, "green_threads", 1, 0)], "ValueError")
    fail_if_any(problems, "what the problems have in common:")
    with explained_hang("work_loop() never returned: it must stop at the sentinel"):
        impl.run(scenario)

Arguments travel to the child as JSON, which has no tuples; the table helpers mark each
tuple on the way, so a function whose statement takes a tuple, such as (3, 14), gets one
and may compare it with another tuple.

The graded test files carry PYTEST_DONT_REWRITE in their docstring: a failing ``assert
cond, message`` then reads as its message alone, without pytest's ``assert 0 == 1`` after
it. Plain asserts vanish under ``python -O``, so this module refuses to load there.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import pytest

from .runner import CallTimeout, Impl

if not __debug__:   # under -O every assert in a graded test would pass
    raise ImportError("the graded tests need assert statements: run pytest without python -O")


def call_each(module, name, rows):  # type: ignore[no-untyped-def]  # runs in the child
    """Call module.<name>(*row) for every row and return the results."""
    def untag(value):
        if isinstance(value, dict):
            if set(value) == {"__tuple__"}:
                return tuple(untag(v) for v in value["__tuple__"])
            return {k: untag(v) for k, v in value.items()}
        if isinstance(value, list):
            return [untag(v) for v in value]
        return value

    func = getattr(module, name)
    return [func(*untag(row)) for row in rows]


def which_raise(module, name, rows, exc_name):  # type: ignore[no-untyped-def]  # runs in the child
    """For every row: did module.<name>(*row) raise the built-in exception `exc_name`?
    Any other exception propagates, so a stub's NotImplementedError is reported as such."""
    import builtins

    def untag(value):
        if isinstance(value, dict):
            if set(value) == {"__tuple__"}:
                return tuple(untag(v) for v in value["__tuple__"])
            return {k: untag(v) for k, v in value.items()}
        if isinstance(value, list):
            return [untag(v) for v in value]
        return value

    expected = getattr(builtins, exc_name)
    out = []
    for row in rows:
        try:
            getattr(module, name)(*untag(row))
        except expected:
            out.append(True)
        else:
            out.append(False)
    return out


def tagged(value: Any) -> Any:
    """`value` with every tuple marked, for call_each and which_raise to rebuild in the child."""
    if isinstance(value, tuple):
        return {"__tuple__": [tagged(v) for v in value]}
    if isinstance(value, list):
        return [tagged(v) for v in value]
    if isinstance(value, dict):
        return {k: tagged(v) for k, v in value.items()}
    return value


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


def fail_if_any(problems: Sequence[str], heading: str = "") -> None:
    """Fail with `heading` and then one problem per line, if there are any problems."""
    __tracebackhide__ = True
    if problems:
        raise AssertionError("\n".join([heading, *problems] if heading else problems))


def _call(name: str, args: Sequence[Any]) -> str:
    return f"{name}({', '.join(map(repr, args))})"


def check_table(impl: Impl, name: str, rows: Sequence[Sequence[Any]], what: str) -> None:
    """Each row is (args..., expected): assert name(*args) == expected (numbers approximately,
    at any depth of lists and dicts). `what` is the rule the rows share, said once above them."""
    __tracebackhide__ = True
    got = impl.run(call_each, name, [tagged(list(row[:-1])) for row in rows])
    fail_if_any([f"{_call(name, row[:-1])} should be {row[-1]!r}, got {value!r}"
                 for row, value in zip(rows, got) if not matches(value, row[-1])], f"{what}:")


def check_raises(impl: Impl, name: str, rows: Sequence[Sequence[Any]], exc_name: str = "ValueError") -> None:
    """Assert that name(*row) raises `exc_name` for every row."""
    __tracebackhide__ = True
    raised = impl.run(which_raise, name, [tagged(list(row)) for row in rows], exc_name)
    missing = [_call(name, row) for row, ok in zip(rows, raised) if not ok]
    fail_if_any([f"these should raise {exc_name}: " + ", ".join(missing)] if missing else [])


@contextlib.contextmanager
def explained_hang(what: str) -> Iterator[None]:
    """Put `what` - the likely cause of a hang, in the learner's terms - before the message of
    a time-out raised inside the block (the runner's time limit detects the hang)."""
    __tracebackhide__ = True
    try:
        yield
    except CallTimeout as exc:
        raise CallTimeout(f"{what}\n{exc}") from None
