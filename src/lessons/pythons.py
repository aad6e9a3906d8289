"""Which Python interpreters the lessons can run experiments under: the one place that knows.

Why this module exists: the course's own interpreter (the ``.venv``) is CPython 3.11, but the
lessons show features of newer releases: eager tasks (3.12), ``Queue.shutdown`` (3.13),
``asyncio.capture_call_graph``, ``python -m asyncio ps`` and ``InterpreterPoolExecutor``
(3.14), and a free-threaded build with no global interpreter lock (GIL, 全局解释器锁). Each
such experiment runs in a fresh process of a new enough interpreter, and this module finds it:

- ``newest()``: a 3.14+ interpreter. First the paths you list in ``$COURSEKIT_PYTHONS``
  (separated by ``os.pathsep``: ``:`` on Linux), so you can point the lessons at a build of
  your own; then the one ``make newest-python`` installs (Debian's binary package python3.15,
  see ``scripts/newest-python.sh``) at ``NEWEST_PYTHON``.
- ``freethreaded()``: the free-threaded build ``make freethreaded`` makes (lesson 02's,
  ``lessons.freethreaded.find()``).
- ``interpreters()``: all of them, oldest first, each with its version and whether the GIL is
  on; ``pick(min_version)`` the one to use for an experiment that needs ``min_version``.
- ``skip_reason(min_version)``: the ``"skipped: ..."`` sentence a cell prints when there is
  none. ``required()`` is true under ``COURSEKIT_REQUIRE_NEWEST=1`` (CI sets it): tests then
  fail instead of skipping.

Every answer comes from *running* the interpreter once (a file that exists but does not start
is not found); that answer is kept until the file changes, so calling these often is cheap.

In a notebook::

    from lessons import pythons
    python = pythons.newest()            # '/root/.cache/coursekit/python-3.15/bin/python3.15'
    print(python or pythons.skip_reason())
    [(i.label, i.gil) for i in pythons.interpreters()]   # [('3.11.2', True), ('3.13.5t', False), ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from lessons.probe import cache_dir

__all__ = ["Interpreter", "NEWEST_PYTHON", "INSTALL_HINT", "freethreaded", "info", "interpreters",
           "newest", "pick", "required", "skip_reason", "version"]


#: Where ``make newest-python`` puts the interpreter (whether or not it is there now).
NEWEST_PYTHON: Path = cache_dir() / "python-3.15" / "bin" / "python3.15"
#: What to do when no 3.14+ interpreter is found.
INSTALL_HINT = "run `make newest-python` (Debian's python3.15, about 10 s once) or list one in COURSEKIT_PYTHONS"


@dataclass(frozen=True)
class Interpreter:
    """One interpreter that starts: its ``path`` as found, ``version`` (major, minor, micro),
    ``label`` (``"3.15.2"``, ``"3.13.5t"`` for a free-threaded build), ``free_threaded`` (built
    with ``--disable-gil``) and ``gil`` (whether the GIL is on by default when it starts)."""

    path: str
    version: tuple[int, int, int]
    label: str
    free_threaded: bool
    gil: bool


# The probe prints one JSON line. sys._is_gil_enabled() exists from 3.13 on (earlier: always
# a GIL); Py_GIL_DISABLED is the build flag (sysconfig), 1 in a free-threaded build.
_PROBE = ("import json, sys, sysconfig; "
          "print(json.dumps([list(sys.version_info[:3]), sys.version_info.releaselevel, "
          "bool(sysconfig.get_config_var('Py_GIL_DISABLED')), "
          "getattr(sys, '_is_gil_enabled', lambda: True)()]))")
# (real path, inode, size, mtime) -> answer. The size is in the key because a file rewritten in
# place within one timer tick can keep its mtime (Linux stamps files with a coarse clock).
_seen: dict[tuple[str, int, int, int], Interpreter | None] = {}


def info(path: str | os.PathLike[str]) -> Interpreter | None:
    """What ``path`` is when it runs, or None if it does not exist or does not start."""
    path = str(path)
    if path == sys.executable:
        return _this()
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (os.path.realpath(path), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _seen:
        _seen[key] = _probe(path)
    return _seen[key]


def _this() -> Interpreter:
    import sysconfig
    ft = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    gil = getattr(sys, "_is_gil_enabled", lambda: True)()
    v = sys.version_info
    return Interpreter(sys.executable, (v[0], v[1], v[2]), f"{v[0]}.{v[1]}.{v[2]}" + "t" * ft, ft, gil)


def _probe(path: str) -> Interpreter | None:
    # PYTHON_GIL is dropped so that the answer is the interpreter's default, not your setting.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHON_GIL", "PYTHONPATH", "PYTHONHOME")}
    try:
        done = subprocess.run([path, "-I", "-c", _PROBE], capture_output=True, text=True,
                              env=env, timeout=30)
        (major, minor, micro), _level, ft, gil = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    if done.returncode != 0:
        return None
    return Interpreter(path, (major, minor, micro), f"{major}.{minor}.{micro}" + "t" * bool(ft),
                       bool(ft), bool(gil))


def version(path: str | os.PathLike[str]) -> tuple[int, int, int] | None:
    """``(major, minor, micro)`` of the interpreter at ``path``, or None if it does not start."""
    found = info(path)
    return None if found is None else found.version


def _listed() -> list[str]:
    return [p for p in os.environ.get("COURSEKIT_PYTHONS", "").split(os.pathsep) if p]


def newest(at_least: tuple[int, int] = (3, 14)) -> str | None:
    """A ``at_least``+ interpreter (default 3.14+): the newest of those listed in
    ``$COURSEKIT_PYTHONS`` that is new enough, else ``NEWEST_PYTHON`` (``make newest-python``)
    if it runs and is new enough, else None. For an older ``at_least`` (3.12, 3.13) the
    free-threaded build and this interpreter count too, after those two."""
    for group in (_listed(), [str(NEWEST_PYTHON)],
                  [str(p) for p in [freethreaded()] if p] + [sys.executable]):
        found = [i for i in map(info, group) if i is not None and i.version[:2] >= at_least]
        if found:
            return max(found, key=lambda i: i.version).path
    return None


def freethreaded() -> str | None:
    """The free-threaded interpreter ``make freethreaded`` builds (GIL off), or None."""
    from . import freethreaded as ft   # lesson 02's module: knows its cache and checks the GIL
    found = ft.find()
    return None if found is None else str(found)


def interpreters() -> list[Interpreter]:
    """Every interpreter found, oldest first, one per real file: this one (the course's venv),
    the free-threaded build, the ``make newest-python`` install and ``$COURSEKIT_PYTHONS``."""
    candidates = [sys.executable, freethreaded(), str(NEWEST_PYTHON), *_listed()]
    found: dict[str, Interpreter] = {}
    for path in filter(None, candidates):
        real = os.path.realpath(path)
        if real not in found and (i := info(path)) is not None:
            found[real] = i
    return sorted(found.values(), key=lambda i: (i.version, i.free_threaded))


def pick(min_version: tuple[int, int]) -> str | None:
    """The interpreter for an experiment that needs ``min_version``: this one if it is new
    enough (no process to start), else ``newest(min_version)``."""
    if sys.version_info[:2] >= min_version:
        return sys.executable
    return newest(min_version)


def skip_reason(min_version: tuple[int, int] = (3, 14), what: str = "") -> str:
    """``"skipped: <reason>"``: what a cell or test says when no ``min_version``+ interpreter
    exists. ``what`` names the feature (``"python -m asyncio ps"``)."""
    need = ".".join(map(str, min_version))
    feature = f"{what} needs" if what else "needs"
    return (f"skipped: {feature} Python {need}+; this is {sys.version.split()[0]} and no {need}+ "
            f"interpreter was found ({INSTALL_HINT})")


def required() -> bool:
    """True under ``COURSEKIT_REQUIRE_NEWEST=1``: a missing 3.14+ interpreter is then a failure
    (CI sets it in ``.ci/run``), not a skip."""
    return os.environ.get("COURSEKIT_REQUIRE_NEWEST") == "1"
