"""Find and use the free-threaded CPython 3.13 ("3.13t", no GIL) that ``make freethreaded`` builds.

Why this module exists: lesson 02 runs the same CPU-bound program under the course's own
interpreter (a classic build: one global interpreter lock, GIL) and under a free-threaded
build, where two threads really run Python code at the same time.  Free-threaded CPython is
neither packaged for Debian nor on PyPI, so ``make freethreaded`` (``scripts/freethreaded.sh``)
builds it once (from Debian's source package: no python.org needed) into a cache outside the
repository.  This module is the one place that knows where that build lives, checks that it
really runs without the GIL, and runs code under it; when it is missing, ``BUILD_HINT`` says
what to do.

In a notebook::

    from lessons import freethreaded
    if freethreaded.find() is None:
        print(freethreaded.BUILD_HINT)
    else:
        code = "import sys; print(sys._is_gil_enabled())"
        freethreaded.run(code).stdout             # 'False\\n': no GIL
        freethreaded.run(code, gil=True).stdout   # 'True\\n': same binary, PYTHON_GIL=1
        freethreaded.run(code, python=sys.executable).stdout   # the course's GIL build

Layout of the cache (``CACHE``; ``scripts/freethreaded.sh`` has the details):

- ``CACHE/python-3.13t/bin/python3.13t``: the interpreter (``PYTHON``);
- ``CACHE/venv-3.13t/bin/python``: a venv of it with ipykernel, numpy, matplotlib and
  greenlet 3.2.2 (``VENV_PYTHON``), behind the Jupyter kernel named ``KERNEL_NAME``.

Facts this relies on (CPython 3.13): ``sys._is_gil_enabled()`` exists from 3.13 on; the
environment variable ``PYTHON_GIL`` (``1`` on, ``0`` off) is read only by free-threaded
builds, and a classic 3.13 build refuses ``PYTHON_GIL=0`` at start-up.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from . import probe

__all__ = ["BUILD_HINT", "CACHE", "KERNEL_NAME", "NotBuiltError", "PYTHON", "VENV_PYTHON", "find", "run"]


#: The cache ``make freethreaded`` builds into; read once, at import, from the environment.
CACHE: Path = probe.cache_dir()
#: Where the free-threaded interpreter is once built (whether or not it exists now).
PYTHON: Path = CACHE / "python-3.13t" / "bin" / "python3.13t"
#: The venv behind the Jupyter kernel: ipykernel, numpy, matplotlib, greenlet 3.2.2.
VENV_PYTHON: Path = CACHE / "venv-3.13t" / "bin" / "python"
#: The Jupyter kernel ``make freethreaded`` registers in the course's .venv.
KERNEL_NAME = "python3.13t"
#: The one line to show when the interpreter is missing.
BUILD_HINT = ("free-threaded Python 3.13 (3.13t) is not built on this machine: "
              "run `make freethreaded` in the course folder (3-4 minutes, once; no python.org needed)")

_GIL_PROBE = "import sys; print(sys._is_gil_enabled())"
_checked: dict[tuple[str, int, int], bool] = {}  # (path, inode, mtime) -> really free-threaded?


class NotBuiltError(RuntimeError):
    """``run()`` was asked for the free-threaded interpreter, and there is none: the message
    is ``BUILD_HINT``."""


def find(*, venv: bool = False) -> Path | None:
    """The free-threaded interpreter (``PYTHON``), or None if it is missing or is not really
    free-threaded (the GIL is on by default).  ``venv=True``: the kernel venv's interpreter
    (``VENV_PYTHON``), which can also import numpy, matplotlib and greenlet.

    The check starts the interpreter once (~10 ms); its answer is kept until the file
    changes, so calling ``find()`` often is cheap.
    """
    path = VENV_PYTHON if venv else PYTHON
    try:
        st = path.stat()
    except OSError:
        return None
    key = (str(path), st.st_ino, st.st_mtime_ns)
    if key not in _checked:
        _checked[key] = _gil_off_by_default(path)
    return path if _checked[key] else None


def _gil_off_by_default(python: Path) -> bool:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    try:
        done = subprocess.run([str(python), "-c", _GIL_PROBE], capture_output=True, text=True,
                              env=env, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip() == "False"


def run(code: str, *, gil: bool | None = None, timeout: float = 120.0,
        python: str | os.PathLike[str] | None = None,
        args: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run ``code`` (Python source) in a fresh interpreter, by default the free-threaded one,
    and return what happened: ``.returncode``, ``.stdout`` and ``.stderr`` (text).

    ``gil``: ``None`` keeps the interpreter's default (off in 3.13t; a ``PYTHON_GIL`` set in
    your own environment is *not* passed on); ``True`` sets ``PYTHON_GIL=1``, which turns
    the GIL on in the same binary; ``False`` sets ``PYTHON_GIL=0``, which keeps it off even
    when a C extension that does not declare free-threading support is imported.
    ``python``: another interpreter, e.g. ``sys.executable`` to run the same code under the
    course's GIL build (leave ``gil`` at None there).  ``args`` become ``sys.argv[1:]``.
    The child can ``import lessons``.  A run longer than ``timeout`` seconds is killed and
    raises ``subprocess.TimeoutExpired``; a missing interpreter raises ``NotBuiltError``.
    """
    if python is None:
        python = find()
        if python is None:
            raise NotBuiltError(BUILD_HINT)
    env = {k: v for k, v in os.environ.items() if k != "PYTHON_GIL"}
    if gil is not None:
        env["PYTHON_GIL"] = "1" if gil else "0"
    env = probe.child_env(env)
    return subprocess.run([os.fspath(python), "-c", code, *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
