"""Generators across Python versions: what lesson 05 measures on every interpreter it finds.

A generator (生成器) is a suspended frame: ``gi_frame`` holds its locals and the index of its
last instruction, ``f_lasti``. Code written against ``f_lasti`` ("-1 means not started") broke
when 3.11 rewrote the frame: ``f_lasti`` is an offset into bytecode whose layout is an
implementation detail, and 3.11 and 3.13 start a generator with instructions (RETURN_GENERATOR,
POP_TOP, RESUME) before its first line. The portable questions are answered by
``inspect.getgeneratorstate`` (3.2+) and, from 3.11 on, ``gi_suspended`` (Objects/genobject.c,
``gen_getsuspended``, added in 3.11.0).

``PROGRAM`` is one self-contained program, written to run unchanged on Python 2.7 and every
Python 3: it prints one JSON line with what this interpreter does. ``survey()`` runs it in a
fresh process under each interpreter ``lessons.gil_lab.find_interpreters`` finds (none but the
running one on a machine without pyenv, which the lesson then says).

    from lessons import generators
    for row in generators.survey():
        print(row["version"], row["f_lasti"], row["yield_from_ops"])
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from typing import Any

from . import gil_lab, probe

__all__ = ["PROGRAM", "YIELD_FROM_OPS", "survey", "version_tuple"]

#: The opcodes that can appear in a function that uses ``yield from`` (3.3-3.10: YIELD_FROM;
#: 3.11: SEND, YIELD_VALUE, JUMP_BACKWARD_NO_INTERRUPT; 3.12 adds END_SEND, CLEANUP_THROW).
YIELD_FROM_OPS = ("YIELD_FROM", "SEND", "YIELD_VALUE", "JUMP_BACKWARD_NO_INTERRUPT", "END_SEND",
                  "CLEANUP_THROW", "GET_YIELD_FROM_ITER", "RESUME", "RETURN_GENERATOR")

# Python 2.7 compatible on purpose: no f-strings, no `yield from` outside exec(), no keyword-only args.
PROGRAM = r'''
import json, sys

def gen():
    x = yield 1
    yield x

g = gen()
before = g.gi_frame.f_lasti
next(g)
after = g.gi_frame.f_lasti
out = {"version": "%d.%d.%d" % sys.version_info[:3], "f_lasti": [before, after],
       "gi_suspended": hasattr(g, "gi_suspended"), "gi_yieldfrom": hasattr(g, "gi_yieldfrom")}
try:
    import inspect
    out["getgeneratorstate"] = inspect.getgeneratorstate(g)
except (ImportError, AttributeError):
    out["getgeneratorstate"] = None
if out["gi_suspended"]:
    out["suspended_now"] = g.gi_suspended

# The instructions of a function that uses yield from (compiled by exec: 2.7 cannot parse it).
ops = None
if sys.version_info >= (3, 4):
    import dis
    ns = {}
    exec("def caller(sub):\n    return (yield from sub)\n", ns)
    ops = [i.opname for i in dis.get_instructions(ns["caller"])]
out["yield_from_ops"] = ops

# close() of a generator that returns on GeneratorExit: does close() return the value? (3.13+)
# (exec again: `return value` inside a generator is a SyntaxError on 2.7)
out["close_returns"] = None
if sys.version_info >= (3, 3):
    ns = {}
    exec("def returns_on_close():\n    try:\n        yield\n    except GeneratorExit:\n"
         "        return 'value at close'\n", ns)
    r = ns["returns_on_close"]()
    next(r)
    out["close_returns"] = r.close()

# PEP 479: a StopIteration raised inside a generator becomes RuntimeError (the default from 3.7).
def leaky():
    yield 1
    raise StopIteration("leaked")
try:
    list(leaky())
    out["pep479"] = "StopIteration ended the loop silently"
except RuntimeError:
    out["pep479"] = "RuntimeError"
print(json.dumps(out))
'''


def version_tuple(version: str) -> tuple[int, ...]:
    """``"3.11.7"`` -> ``(3, 11, 7)``."""
    return tuple(int(x) for x in version.rstrip("t").split("."))


def survey(interpreters: Sequence[gil_lab.Interpreter] | None = None, *,
           timeout: float = 60.0) -> list[dict[str, Any]]:
    """Run ``PROGRAM`` in a fresh process of each interpreter (default: every GIL build
    ``gil_lab.find_interpreters()`` finds), sorted by version. An interpreter that fails is
    left out and listed in the row ``{"skipped": ...}`` at the end instead."""
    found = [i for i in (interpreters if interpreters is not None else gil_lab.find_interpreters())
             if not i.free_threaded]
    rows: list[dict[str, Any]] = []
    skipped = []
    for interp in found:
        try:
            rows.append(probe.run_code(interp.path, PROGRAM, timeout=timeout))
        except (RuntimeError, subprocess.TimeoutExpired, ValueError) as err:
            skipped.append(f"{interp.label}: {type(err).__name__}")
    rows.sort(key=lambda r: version_tuple(r["version"]))
    if skipped:
        rows.append({"skipped": skipped})
    return rows
