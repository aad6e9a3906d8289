"""Run a measurement in a fresh interpreter and read back its answer as JSON.

Every lesson that measures does it in a *new* Python process, never in the notebook's kernel:
the kernel already runs threads of its own (ipykernel's heartbeat and I/O threads), has
allocated memory for past cells, and must not be forked while those threads live (lesson 01,
section 6). A fresh interpreter gives clean before/after deltas and keeps the kernel clean.

A lesson module ``lessons.<name>`` that measures has a ``main(argv)`` that prints one JSON
line; ``run_json("costs", ["memory", ...])`` runs it as::

    python -c "import sys; from lessons.costs import main; main(sys.argv[1:])" memory ...

``-c`` rather than ``-m lessons.costs`` on purpose: processes started with spawn or forkserver
re-import the parent's ``__main__`` module by name, and that import would be timed as part of
every process start. With ``-c`` there is no main module to re-import.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: The folder that holds the ``lessons`` package (and ``coursekit``): put on a child's path.
SRC_DIR = str(Path(__file__).resolve().parent.parent)


def cache_dir() -> Path:
    """Where the course keeps what its make targets install and what lessons cache:
    ``$COURSEKIT_CACHE``, else ``$XDG_CACHE_HOME/coursekit``, else ``~/.cache/coursekit``. The
    one rule, shared with ``scripts/freethreaded.sh``, ``newest-python.sh`` and
    ``go-toolchains.sh``."""
    if explicit := os.environ.get("COURSEKIT_CACHE"):
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "coursekit"


def child_env(base: Mapping[str, str] | None = None, **extra: str) -> dict[str, str]:
    """``base`` (default: this process's environment) with ``SRC_DIR`` first on PYTHONPATH,
    so that the child can ``import lessons`` whichever directory it starts in."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC_DIR, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def command(module: str, args: Sequence[str], *, python: str | None = None) -> list[str]:
    """The argv that runs ``lessons.<module>.main(args)`` in a fresh interpreter."""
    code = f"import sys; from lessons.{module} import main; main(sys.argv[1:])"
    return [python or sys.executable, "-c", code, *args]


def last_json_line(stdout: str) -> Any:
    """The JSON value on the last non-empty line of ``stdout``."""
    lines = stdout.strip().splitlines()
    if not lines:
        raise RuntimeError("the measurement printed nothing")
    return json.loads(lines[-1])


def run_json(module: str, args: Sequence[str], *, timeout: float = 120.0,
             ulimit_stack_kib: int | None = None) -> Any:
    """Run ``lessons.<module>.main(args)`` in a fresh interpreter; return its JSON answer.

    ``ulimit_stack_kib`` starts the child under ``ulimit -s <kib>``, exactly as if you had
    typed that in a shell first. A failing child raises ``RuntimeError`` with its stderr.
    """
    cmd = command(module, args)
    if ulimit_stack_kib is not None:
        shell = shutil.which("sh")
        if shell is None:
            raise RuntimeError("changing RLIMIT_STACK for the child needs a POSIX shell (sh)")
        cmd = [shell, "-c", f'ulimit -s {int(ulimit_stack_kib)} && exec "$@"', "sh", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, env=child_env(), timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"measurement {' '.join(args)!r} failed:\n{done.stderr.strip()}")
    return last_json_line(done.stdout)


def run_code(executable: str, code: str, *, timeout: float = 120.0,
             env: Mapping[str, str] | None = None) -> Any:
    """Run self-contained ``code`` with ``executable`` (any Python, any version) and return the
    JSON on its last line. ``env`` replaces the environment (default: inherit)."""
    done = subprocess.run([executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, env=None if env is None else dict(env))
    if done.returncode != 0:
        raise RuntimeError(f"{executable} failed:\n{done.stderr.strip()}")
    return last_json_line(done.stdout)
