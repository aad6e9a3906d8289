"""The event-loop landscape of lesson 08, run: uvloop, tornado, Sanic, curio, trio, meinheld.

Lesson 08 uses it like this::

    from lessons import landscape_runs as lr
    lr.uvloop_echo()          # uvloop.run(main()): echo round trips, the running loop's type
    lr.uvloop_speed()         # asyncio vs uvloop on the same workloads, this run, alternating
    lr.sanic_app()            # a Sanic app answers one request; the loop type in the handler
    lr.tornado_ioloop()       # IOLoop.current() wraps asyncio's loop; a web app fetched; on uvloop too
    lr.curio_everywhere()     # curio 1.6's echo on every interpreter found, or its exact error
    lr.trio_vs_taskgroup()    # nursery + cancel scope beside TaskGroup + timeout: one outcomes table
    lr.meinheld_everywhere()  # pip install meinheld, really: what fails, and what runs
    lr.overview()             # the table: system, what it is, runs here?, evidence

Design. Every experiment runs in a fresh interpreter (``main(argv)`` prints one JSON line), for
three reasons: Sanic and uvloop.run install loops and signal handlers that must not touch the
notebook's kernel; the kernel already runs an asyncio loop (``asyncio.run`` refuses to start
inside it); and the same code must run under other interpreters (3.13t, 3.15) where only the
standard library and one package put on ``PYTHONPATH`` exist. So this module imports only the
standard library at the top; each child imports the package it tries. Every child has a
timeout; a timeout or a crash comes back as a sentence saying which experiment and what to do.

Servers bind ``127.0.0.1`` port 0 (the kernel picks a free port) and the client connects only
after ``listen()`` has returned, so no retry loop and no sleep stand in for synchronisation.
trio and asyncio timeouts run on virtual clocks (``trio.testing.MockClock(autojump_threshold=0)``
and ``lessons.virtual_time``): the outcomes do not depend on the machine, and cost no wall time.

Where the facts come from (each named again where it is used):

- uvloop 0.23.0 as installed, ``uvloop/__init__.py``, ``run()``: on 3.11 it is
  ``asyncio.Runner(loop_factory=uvloop.new_event_loop)`` - no event loop policy is installed.
- Sanic 25.12.1 as installed and tag ``v25.12.0`` of github:sanic-org/sanic,
  ``sanic/server/loop.py``, ``try_use_uvloop()``: if uvloop imports (and ``USE_UVLOOP`` is not
  False) Sanic sets ``uvloop.EventLoopPolicy()`` as asyncio's policy.
- tornado, github:tornadoweb/tornado: ``tornado/ioloop.py``, ``IOLoop.configurable_default`` is
  ``EPollIOLoop`` (tornado's own epoll loop) at ``v4.5.3`` and ``AsyncIOLoop`` at ``v5.0.0``;
  ``tornado/platform/asyncio.py``, ``BaseAsyncIOLoop.initialize`` stores ``self.asyncio_loop``
  and ``IOLoop.current`` maps the running asyncio loop to its IOLoop (``_ioloop_for_asyncio``), at
  ``v6.5.7``; ``docs/releases/v5.0.0.rst``: "On Python 3, the IOLoop is always a wrapper around
  the asyncio event loop".
- curio 1.6, ``curio/channel.py`` line 31: ``CHALLENGE = mpc.CHALLENGE``. CPython renamed that
  constant to ``_CHALLENGE`` in ``Lib/multiprocessing/connection.py`` (commit 3ed57e4995d,
  gh-61460 "Stronger HMAC in multiprocessing", first in v3.12.0b1), so ``import curio`` fails on
  3.12+. curio's GitHub fixed it (commit a5590bb, 2023-09-10, "Add support for Python 3.12"),
  but its README says since October 25, 2022 "The Curio project is no longer making package
  releases": the package index still serves 1.6.
- meinheld 1.0.2 (tag ``v1.0.2``, 2020-05-17, github:mopemope/meinheld): ``setup.py`` pins
  ``greenlet>=0.4.5,<0.5``; ``meinheld/server/timer.c`` uses ``Py_TRASHCAN_SAFE_BEGIN``, removed
  in 3.13 (Doc/whatsnew/3.13.rst, "Removed C APIs", gh-105111).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from lessons import probe

__all__ = ["CURIO_FACTS", "MEINHELD_FACTS", "PICOEV_IN_MEINHELD", "ExperimentFailed",
           "curio_echo", "curio_everywhere", "interpreters", "main", "meinheld_everywhere",
           "meinheld_try", "overview", "same_outcomes", "sanic_app", "tornado_ioloop", "trio_vs_taskgroup",
           "uvloop_echo", "uvloop_speed", "warm"]

#: How long one experiment may take before it counts as hung (seconds): generous, for a busy
#: machine; the experiments themselves take well under a second each (pip builds aside).
TIMEOUT_S = 60.0
#: pip downloads and compiles meinheld (and greenlet 0.4.17): about 35-55 s per try on 2 cores.
PIP_TIMEOUT_S = 300.0

# Facts read from sources, with where. The cells print them beside what was measured.
CURIO_FACTS: dict[str, str] = {
    "release": "1.6",
    "release_date": "2022-10-25",
    "release_source": "github:dabeaz/curio tag 1.6 (2022-10-25); README.rst 'Important Notice: "
                      "October 25, 2022 - The Curio project is no longer making package releases'",
    "cause": "curio/channel.py (1.6) reads multiprocessing.connection.CHALLENGE, renamed _CHALLENGE "
             "in CPython 3.12 (commit 3ed57e4995d, gh-61460, first in v3.12.0b1)",
    "fixed_on_github": "commit a5590bb 2023-09-10 'Add support for Python 3.12' (unreleased)",
}

MEINHELD_FACTS: dict[str, str] = {
    "release": "1.0.2",
    "release_date": "2020-05-17",
    "release_source": "github:mopemope/meinheld tag v1.0.2 (2020-05-17); `pip index versions "
                      "meinheld` lists 1.0.2 as the newest (checked 2026-12-02)",
    "pin": "setup.py: install_requires=['greenlet>=0.4.5,<0.5']",
    "last_commit": "6ddb22b 2020-06-24 (merge of PR #113)",
}

#: picoev inside meinheld, read from the fetched github:mopemope/meinheld (HEAD 6ddb22b):
#: ``git log -- meinheld/server/picoev*``.
PICOEV_IN_MEINHELD: dict[str, Any] = {
    "files": ["meinheld/server/picoev.h", "meinheld/server/picoev_epoll.c",
              "meinheld/server/picoev_kqueue.c", "meinheld/server/picoev_select.c"],
    "vendored": "870d721 2011-02-06 'updated to the latest picoev - https://github.com/kazuho/picoev'",
    "last_code_change": "2a33242 2016-04-08 'Use EPOLLEXCLUSIVE'",
    "last_change": "152fbb6 2020-05-17 'Apply the clang-format' (formatting only)",
    "upstream_last_code_change": "github:kazuho/picoev: last change to *.c/*.h 2015-01-05 (lessons.landscape)",
}


class ExperimentFailed(RuntimeError):
    """A child experiment crashed or hung: the message says which, and its last error lines."""


# ------------------------------------------------------------------------------ the parent's side

def _run(args: list[str], *, python: str | None = None, extra_path: list[str] | None = None,
         timeout: float = TIMEOUT_S, check: bool = True) -> dict[str, Any]:
    """Run ``main(args)`` of this module in a fresh interpreter; return its JSON answer.

    ``extra_path``: directories put on the child's PYTHONPATH after the course's ``src`` (one
    package copied out of the venv, so another interpreter can try to import it). With
    ``check=False`` a crash comes back as ``{"ok": False, "error": <last line>, "stderr": ...}``
    instead of raising: that is how "it does not run on 3.15" is shown, not hidden."""
    env = probe.child_env()
    env["PYTHONPATH"] = os.pathsep.join([probe.SRC_DIR, *(extra_path or [])])
    env.pop("PYTHONHOME", None)
    env["PYTHON_COLORS"], env["NO_COLOR"] = "0", "1"   # 3.13+ colour tracebacks: keep them plain
    try:
        done = subprocess.run(probe.command("landscape_runs", args, python=python),
                              capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired as hang:
        raise ExperimentFailed(
            f"the experiment {args!r} on {python or sys.executable} did not finish in {timeout:.0f} s: "
            f"it hung (a server that never answered?). Run it again on a quieter machine; "
            f"its stderr so far: {(hang.stderr or b'')[-500:]!r}") from None
    if done.returncode == 0:
        return probe.last_json_line(done.stdout)
    lines = [_ANSI.sub("", ln) for ln in done.stderr.strip().splitlines() if ln.strip()]
    if check:
        raise ExperimentFailed(f"the experiment {args!r} on {python or sys.executable} failed "
                               f"(exit {done.returncode}):\n" + "\n".join(lines[-15:]))
    return {"ok": False, "error": lines[-1] if lines else f"exit {done.returncode}",
            "where": _where(lines), "stderr_tail": lines[-8:]}


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _failed_names(log: str) -> list[str]:
    """The packages pip says it failed to build: ``Failed to build greenlet`` (older pip) and
    ``Failed to build installable wheels for some pyproject.toml based projects (greenlet)``."""
    names: list[str] = []
    for line in log.splitlines():
        if "Failed to build" not in line:
            continue
        tail = line.split("Failed to build", 1)[1].strip()
        if "(" in tail and tail.endswith(")"):
            tail = tail[tail.rindex("(") + 1:-1]
        names += [n.strip() for n in tail.replace(",", " ").split() if n.strip() not in names]
    return names


def _where(lines: list[str]) -> str:
    """The last ``File "...", line N`` of a traceback, shortened to the package's own path."""
    files = [ln.strip() for ln in lines if ln.strip().startswith("File ")]
    if not files:
        return ""
    last = files[-1]
    for marker in ("site-packages/", "pkgs/"):
        if marker in last:
            last = 'File "' + last.split(marker, 1)[1]
    return last


def interpreters() -> list[dict[str, Any]]:
    """Every interpreter the course knows (``lessons.pythons``): path, label, gil. The venv's
    first. ``$COURSEKIT_PYTHONS`` adds others (a 3.15 you built, say)."""
    from lessons import pythons
    return [{"path": i.path, "label": i.label, "gil": i.gil} for i in pythons.interpreters()]


def _venv_package(name: str) -> str:
    """The directory of the venv's copy of package ``name`` (``.../site-packages/curio``)."""
    import importlib.util
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ExperimentFailed(f"{name} is not installed in this venv: run `make lab` (requirements.txt pins it)")
    return list(spec.submodule_search_locations)[0]


def _one_package_path(names: list[str], into: str) -> str:
    """A folder holding only the listed packages (symlinks to the venv's copies): put on
    PYTHONPATH, another interpreter sees them and nothing else of the venv."""
    for name in names:
        os.symlink(_venv_package(name), os.path.join(into, name))
    return into


def uvloop_echo(rounds: int = 100) -> dict[str, Any]:
    """``uvloop.run(main())``: ``rounds`` echo round trips over loopback through asyncio's
    streams, and what ran them: the running loop's type, and the policy before and after."""
    return _run(["uvloop_echo", str(rounds)])


def uvloop_speed(repeat: int = 3) -> dict[str, Any]:
    """asyncio's loop and uvloop's, alternately, on two workloads: a ``call_soon`` chain (the
    loop's own cost per pass) and a protocols echo on loopback (bench/loop_speed.py has both;
    this is a smaller copy, since lessons does not import bench). Median rates and ratios."""
    return _run(["uvloop_speed", str(repeat)], timeout=2 * TIMEOUT_S)


def sanic_app(use_uvloop: bool = True) -> dict[str, Any]:
    """A one-route Sanic app in a fresh process (single process, no auto-reload, no access
    log), served on a loopback socket; once started it fetches ``/`` from itself (in a thread)
    and stops. Returns the body, the loop type seen inside the handler, and Sanic's version.
    ``use_uvloop=False`` sets ``app.config.USE_UVLOOP = False``: the control."""
    return _run(["sanic", "1" if use_uvloop else "0"])


def tornado_ioloop() -> dict[str, Any]:
    """tornado's IOLoop under ``asyncio.run`` and under ``uvloop.run``: its class, whether
    ``IOLoop.current().asyncio_loop is asyncio.get_running_loop()``, and a
    ``tornado.web.Application`` served on loopback and fetched with tornado's HTTP client."""
    return _run(["tornado"])


def curio_echo(python: str | None = None) -> dict[str, Any]:
    """curio's echo (``curio.run``, ``tcp_server``) on ``python`` (default: the venv's), with
    the venv's curio 1.6 - pure Python - alone on PYTHONPATH. ``{"ok": True, ...}`` with the
    echo, or ``{"ok": False, "error": <the exception line>, "where": <file, line>}``."""
    with tempfile.TemporaryDirectory(prefix="curio-only-") as tmp:
        extra = [_one_package_path(["curio"], tmp)] if python else []
        out = _run(["curio"], python=python, extra_path=extra, check=False)
    if "where" in out:   # the temporary folder's name says nothing: keep the package's own path
        out["where"] = out["where"].replace(tmp + os.sep, "")
        out["stderr_tail"] = [ln.replace(tmp + os.sep, "") for ln in out["stderr_tail"]]
    return out


def curio_everywhere() -> list[dict[str, Any]]:
    """``curio_echo`` on every interpreter found, each row with the interpreter's label."""
    rows = []
    for i in interpreters():
        python = None if i["path"] == sys.executable else i["path"]
        rows.append({"python": i["label"], **curio_echo(python)})
    return rows


def trio_vs_taskgroup() -> dict[str, Any]:
    """The same three programs on trio and on asyncio, on virtual clocks; see ``_exp_trio``.

    Returns ``{"rows": [...], "trio": version, "python": ..., "wall_s": ...}``; each row is
    ``{"scenario", "framework", "children": {name: outcome}, "parent": what the parent saw,
    "virtual_s": the clock at the end}``."""
    return _run(["trio"])


# ---- meinheld: a real pip install, cached ------------------------------------------------------

def _cache_dir() -> Path:
    return probe.cache_dir() / "landscape_runs"


def _error_lines(log: str, limit: int = 4) -> list[str]:
    """The lines of a pip log that say what broke: compiler ``error:`` lines first (distinct,
    in order), then pip's own ``ERROR:`` lines."""
    seen: list[str] = []
    for line in log.splitlines():
        text = line.strip()
        if ": error: " in text and text not in seen:
            seen.append(text)
    compiler = seen[:limit]
    pip_lines = [ln.strip() for ln in log.splitlines() if ln.strip().startswith(("ERROR:", "× Building"))]
    return compiler + pip_lines[:2]


def _pip_for(python: str) -> str:
    """The interpreter whose pip installs for ``python``: the free-threaded build's kernel venv
    has pip (the bare build may not)."""
    from lessons import freethreaded
    if freethreaded.find() and os.path.realpath(python) == os.path.realpath(str(freethreaded.PYTHON)):
        venv = freethreaded.find(venv=True)
        if venv:
            return str(venv)
    return python


def meinheld_try(python: str | None = None, *, deps: bool = True, version: str = "1.0.2",
                 fresh: bool = False, cached_only: bool = False,
                 timeout: float = PIP_TIMEOUT_S) -> dict[str, Any]:
    """``pip install meinheld==<version>`` from the package index into a temporary folder, on
    ``python``: with its dependencies (``deps=True``: its pinned ``greenlet<0.5``), or with
    ``--no-deps`` (then its WSGI server is started on loopback with the interpreter's own
    greenlet, if it has one, and one request fetched).

    A try takes 35-55 s (pip compiles C), so its answer is kept in the course cache
    (``~/.cache/coursekit/landscape_runs``) with the time it was made; ``fresh=True`` tries
    again. When the index cannot be reached, the answer says ``"offline": True`` and carries
    the evidence recorded on 2026-12-03 (``RECORDED_MEINHELD``), marked as such.

    ``cached_only=True`` never runs pip: the cached answer, or else the recorded one with
    ``"recorded"`` set (a notebook cell uses this; ``make landscape-cache`` fills the cache).
    Only answers worth keeping are cached: an install that worked, or a build that failed with a
    compiler error. A failure of the machine itself (a missing interpreter, a timeout) is
    returned but not kept, so the next try tries again."""
    python = python or sys.executable
    from lessons import pythons
    info = pythons.info(python)
    label = info.label if info else python
    key = _cache_dir() / f"meinheld-{version}-{label}-{'deps' if deps else 'nodeps'}.json"
    if key.exists() and not fresh:
        try:
            return {**json.loads(key.read_text()), "cached": True}
        except ValueError:                      # a torn write: try again below
            key.unlink(missing_ok=True)
    if cached_only:
        return {**_recorded(label, deps), "python": label, "deps": deps, "cached": False}
    pip_python = _pip_for(python)
    with tempfile.TemporaryDirectory(prefix="meinheld-") as target:
        cmd = [pip_python, "-m", "pip", "install", "--no-cache-dir", "--disable-pip-version-check",
               "--target", target, f"meinheld=={version}", *([] if deps else ["--no-deps"])]
        started = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
            log, rc = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired:
            log, rc = f"ERROR: pip did not finish in {timeout:.0f} s", -1
        out: dict[str, Any] = {
            "python": label, "deps": deps, "installed": rc == 0, "pip_s": round(time.perf_counter() - started, 1),
            "attempted_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "offline": False,
            "built": [ln.split("Successfully built", 1)[1].strip() for ln in log.splitlines()
                      if "Successfully built" in ln],
            "failed_to_build": _failed_names(log),
            "collected": [ln.strip().split(" ", 1)[1] for ln in log.splitlines()
                          if ln.strip().startswith("Collecting ")],
            "errors": [] if rc == 0 else _error_lines(log),
        }
        if rc != 0 and ("No matching distribution" in log or "Could not fetch" in log
                        or "NewConnectionError" in log or "Temporary failure in name" in log):
            return {**_recorded(label, deps), "offline": True, "python": label, "deps": deps,
                    "pip_errors": _error_lines(log), "cached": False}
        if rc == 0:
            run = _run(["meinheld"], python=python, extra_path=[target], check=False)
            run = {k: v.replace(target + os.sep, "") if isinstance(v, str) else v for k, v in run.items()}
            run.pop("stderr_tail", None)
            out["run"] = run
    if rc == 0 or any(": error: " in e for e in out["errors"]):
        key.parent.mkdir(parents=True, exist_ok=True)
        tmp = key.with_suffix(".tmp")
        tmp.write_text(json.dumps(out))
        tmp.replace(key)                        # atomic: a reader never sees half a file
    return {**out, "cached": False}


def _recorded(label: str, deps: bool) -> dict[str, Any]:
    """The recorded answer for a Python like ``label`` (its ``3.11`` / ``3.13``), or a note."""
    found = RECORDED_MEINHELD.get((label[:4], deps))
    if found is None:
        return {"installed": False, "errors": [], "recorded": "none for this Python"}
    return dict(found)


#: What the tries gave on 2026-12-03 (Debian 12, gcc 12; `make landscape-cache`), kept for a
#: machine with no cache and no package index. The first compiler error of each failed build.
RECORDED_MEINHELD: dict[tuple[str, bool], dict[str, Any]] = {
    ("3.11", True): {"installed": False, "failed_to_build": ["greenlet"], "built": ["meinheld"],
                     "errors": ["greenlet.c:176:21: error: '_PyErr_StackItem' {aka 'struct _err_stackitem'} "
                                "has no member named 'exc_type'"], "recorded": "2026-12-03"},
    ("3.11", False): {"installed": True, "built": ["meinheld"], "errors": [],
                      "run": {"ok": True, "body": "hello from meinheld", "greenlet": "3.5.6"},
                      "recorded": "2026-12-03"},
    ("3.13", True): {"installed": False, "failed_to_build": ["greenlet"], "built": ["meinheld"],
                     "errors": ["greenlet.c:176:21: error: '_PyErr_StackItem' {aka 'struct _err_stackitem'} "
                                "has no member named 'exc_type'"], "recorded": "2026-12-03"},
    ("3.13", False): {"installed": True, "built": ["meinheld"], "errors": [],
                      "run": {"ok": False, "error": "ImportError: meinheld/server.cpython-313t-x86_64-"
                              "linux-gnu.so: undefined symbol: Py_TRASHCAN_SAFE_BEGIN"},
                      "recorded": "2026-12-03"},
}


def meinheld_everywhere(fresh: bool = False, cached_only: bool = False) -> list[dict[str, Any]]:
    """``meinheld_try`` with and without its dependencies on the venv's Python and on the
    free-threaded 3.13t when it exists; the uncached tries run two at a time (2 cores).
    The Debian 3.15 is not tried: it has neither pip nor the C headers a build needs."""
    from concurrent.futures import ThreadPoolExecutor

    from lessons import pythons
    targets = [sys.executable] + [p for p in [pythons.freethreaded()] if p]
    jobs = [(py, deps) for py in targets for deps in (True, False)]
    with ThreadPoolExecutor(max_workers=2) as pool:   # each job is a pip child: threads just wait
        return list(pool.map(lambda job: meinheld_try(job[0], deps=job[1], fresh=fresh,
                                                      cached_only=cached_only), jobs))


def same_outcomes(rows: list[dict[str, Any]]) -> dict[str, bool]:
    """Per scenario of ``trio_vs_taskgroup()``: did every child end the same way on both?

    trio's ``Cancelled`` and asyncio's ``CancelledError`` count as the same outcome; what the
    *parent* saw is not compared (``move_on_after`` swallows its deadline where
    ``asyncio.timeout`` raises ``TimeoutError``: the lesson shows that difference)."""
    def norm(children: dict[str, str]) -> dict[str, str]:
        return {k: v.replace("CancelledError", "Cancelled") for k, v in children.items()}
    by: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by.setdefault(row["scenario"], []).append(norm(row["children"]))
    return {scenario: len(seen) == 2 and seen[0] == seen[1] for scenario, seen in by.items()}


def overview(results: dict[str, Any]) -> list[dict[str, str]]:
    """One row per system from the results the cells already have (keys ``uvloop``, ``sanic``,
    ``tornado``, ``curio``, ``trio``, ``meinheld``): system, what it is, runs here, evidence.
    The versions are the ones that ran, as each experiment reported them."""
    missing = {"uvloop", "sanic", "tornado", "curio", "trio", "meinheld"} - set(results)
    if missing:
        raise ValueError(f"overview() needs the results of every experiment; missing: {sorted(missing)}")
    u, s, t, tr, mh = (results[k] for k in ("uvloop", "sanic", "tornado", "trio", "meinheld"))
    curio_ok = [r["python"] for r in results["curio"] if r.get("ok")]
    curio_bad = [r["python"] for r in results["curio"] if not r.get("ok")]
    curio_error = next((r["error"] for r in results["curio"] if not r.get("ok")), "the echo ran everywhere")
    matched = same_outcomes(tr["rows"])
    mh_runs = [r["python"] for r in mh if not r["deps"] and (r.get("run") or {}).get("ok")]
    mh_deps = [r["python"] for r in mh if r["deps"] and r.get("installed")]
    mh_recorded = any(r.get("recorded") for r in mh)
    return [
        {"system": "uvloop", "what": "stackless; asyncio's loop API on libuv (Cython)",
         "runs here": f"yes, {u['python']}",
         "evidence": f"uvloop {u['uvloop']}: {u['echoed']} of {u['rounds']} echoes on {u['loop']}"},
        {"system": "Sanic", "what": "stackless web framework on asyncio; uvloop's policy if installed",
         "runs here": f"yes, {s['python']}", "evidence": f"Sanic {s['sanic']}: the handler ran on {s['loop']}"},
        {"system": "tornado IOLoop", "what": "stackless; its own epoll loop until 4.5, asyncio's since 5.0",
         "runs here": f"yes, {t['python']}",
         "evidence": f"tornado {t['tornado']}: IOLoop.asyncio_loop is the running loop: {t['asyncio']['same_loop']}"},
        {"system": "curio", "what": "stackless; its own kernel (no asyncio), async/await only",
         "runs here": f"yes on {', '.join(curio_ok) or 'none'}; no on {', '.join(curio_bad) or 'none'}",
         "evidence": f"{curio_error}; last release {CURIO_FACTS['release']} ({CURIO_FACTS['release_date']})"},
        {"system": "trio", "what": "stackless; its own run loop, nurseries and cancel scopes",
         "runs here": f"yes, {tr['python']}",
         "evidence": f"trio {tr['trio']}: {sum(matched.values())} of {len(matched)} scenarios end each child "
                     f"as TaskGroup does"},
        {"system": "meinheld (picoev)", "what": "stackful: greenlet + picoev (C), a WSGI server",
         "runs here": ("only with --no-deps, on " + ", ".join(mh_runs) if mh_runs else "no")
                      + (f"; with its pins on {', '.join(mh_deps)}" if mh_deps else "; never with its greenlet<0.5 pin")
                      + (" (recorded)" if mh_recorded else ""),
         "evidence": f"{MEINHELD_FACTS['pin']}; last release {MEINHELD_FACTS['release']} ({MEINHELD_FACTS['release_date']})"},
    ]


def warm() -> int:
    """``python -m lessons.landscape_runs --warm`` (``make landscape-cache``): run the meinheld
    tries that are not cached yet, so that the notebook only reads answers. Prints one line per
    try; returns the exit status (0 even when meinheld fails to build: that is the answer)."""
    for r in meinheld_everywhere():
        how = "cached" if r.get("cached") else ("offline, recorded kept" if r.get("offline") else f"{r.get('pip_s')} s")
        ran = (r.get("run") or {}).get("ok")
        print(f"meinheld on {r['python']} {'with' if r['deps'] else 'without'} deps: "
              f"{'installed' if r['installed'] else 'failed to build'}"
              f"{'' if r['installed'] is False else ', runs' if ran else ', does not run'} ({how})")
    return 0


# ------------------------------------------------------------------------------ the child's side
# Each _exp_* runs in the fresh interpreter and returns plain data; main() prints it as JSON.

def _python() -> str:
    import sysconfig
    v = sys.version_info
    return f"{v[0]}.{v[1]}.{v[2]}" + ("t" if sysconfig.get_config_var("Py_GIL_DISABLED") else "")


def _qualname(obj: object) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def _listener() -> Any:
    """A listening loopback socket on a free port: a client may connect as soon as this returns
    (the kernel queues it in the backlog until the server accepts)."""
    import socket
    sock = socket.create_server(("127.0.0.1", 0))
    return sock


def _exp_uvloop_echo(rounds: int) -> dict[str, Any]:
    import asyncio

    import uvloop

    before = _qualname(asyncio.get_event_loop_policy())
    seen: dict[str, Any] = {}

    async def handle(reader: Any, writer: Any) -> None:
        while data := await reader.readline():
            writer.write(data)
            await writer.drain()
        writer.close()

    async def main() -> int:
        seen["loop"] = _qualname(asyncio.get_running_loop())
        seen["policy_inside"] = _qualname(asyncio.get_event_loop_policy())
        server = await asyncio.start_server(handle, sock=_listener())
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        echoed = 0
        for i in range(rounds):
            writer.write(f"ping {i}\n".encode())
            if await reader.readline() == f"ping {i}\n".encode():
                echoed += 1
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return echoed

    echoed = uvloop.run(main())
    return {"python": _python(), "uvloop": uvloop.__version__, "echoed": echoed, "rounds": rounds,
            "policy_before": before, "policy_after": _qualname(asyncio.get_event_loop_policy()), **seen}


def _exp_uvloop_speed(repeat: int) -> dict[str, Any]:
    import asyncio
    import socket
    import statistics

    import uvloop

    def chain(loop: Any, n: int = 50_000) -> int:
        left = [n]

        def step() -> None:
            left[0] -= 1
            if left[0]:
                loop.call_soon(step)
            else:
                loop.stop()
        loop.call_soon(step)
        loop.run_forever()
        return n

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    class Ping(asyncio.Protocol):
        def __init__(self, rounds: int, done: Any) -> None:
            self.left, self.got, self.done = rounds, 0, done

        def connection_made(self, transport: Any) -> None:
            transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.transport = transport
            transport.write(b"x" * 64)

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got < 64:
                return
            self.got, self.left = 0, self.left - 1
            if self.left:
                self.transport.write(b"x" * 64)
            else:
                self.transport.close()
                self.done.set_result(None)

    def echo(loop: Any, n: int = 5_000) -> int:
        async def main() -> int:
            server = await loop.create_server(Echo, sock=_listener())
            done = loop.create_future()
            await loop.create_connection(lambda: Ping(n, done), *server.sockets[0].getsockname()[:2])
            await done
            server.close()
            await server.wait_closed()
            return n
        return loop.run_until_complete(main())

    loops: dict[str, Callable[[], Any]] = {"asyncio": asyncio.SelectorEventLoop, "uvloop": uvloop.new_event_loop}
    out: dict[str, Any] = {"python": _python(), "uvloop": uvloop.__version__, "repeat": repeat, "rows": []}
    for name, work, unit in (("call_soon chain", chain, "callbacks/s"), ("echo, protocols", echo, "round trips/s")):
        rates: dict[str, list[float]] = {k: [] for k in loops}
        for _ in range(repeat):
            for kind, make in loops.items():          # alternating: load changes hit both alike
                loop = make()
                try:
                    start = time.perf_counter()
                    n = work(loop)
                    rates[kind].append(n / (time.perf_counter() - start))
                finally:
                    loop.close()
        med = {k: statistics.median(v) for k, v in rates.items()}
        out["rows"].append({"workload": name, "unit": unit, **{k: round(v) for k, v in med.items()},
                            "ratio": round(med["uvloop"] / med["asyncio"], 2)})
    return out


def _exp_sanic(use_uvloop: bool) -> dict[str, Any]:
    import asyncio
    import logging
    import threading
    import urllib.request

    from sanic import Sanic, response
    import sanic

    logging.disable(logging.INFO)          # Sanic logs each start and stop at INFO
    app = Sanic("landscape_runs")
    app.config.USE_UVLOOP = use_uvloop
    sock = _listener()
    port = sock.getsockname()[1]
    seen: dict[str, Any] = {"python": _python(), "sanic": sanic.__version__, "use_uvloop": use_uvloop}

    @app.get("/")
    async def index(request: Any) -> Any:
        seen["loop"] = _qualname(asyncio.get_running_loop())
        seen["handler_thread_is_main"] = threading.current_thread() is threading.main_thread()
        return response.text("hello from sanic")

    @app.after_server_start
    async def fetch_once(app: Any) -> None:
        # urllib blocks, so it runs in a worker thread; the server keeps answering meanwhile.
        def get() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20) as r:
                return r.read().decode()
        seen["body"] = await asyncio.get_running_loop().run_in_executor(None, get)
        app.stop()

    app.run(sock=sock, single_process=True, auto_reload=False, access_log=False, motd=False)
    seen["stopped"] = True
    return seen


def _exp_tornado() -> dict[str, Any]:
    import asyncio

    import tornado
    import tornado.httpclient
    import tornado.web
    from tornado.httpserver import HTTPServer
    from tornado.ioloop import IOLoop
    from tornado.netutil import bind_sockets
    from tornado.platform.asyncio import BaseAsyncIOLoop

    class Hello(tornado.web.RequestHandler):
        def get(self) -> None:
            self.write(f"hello from tornado on {_qualname(asyncio.get_running_loop())}")

    async def main() -> dict[str, Any]:
        io = IOLoop.current()
        sockets = bind_sockets(0, "127.0.0.1")        # listening when this returns
        server = HTTPServer(tornado.web.Application([("/", Hello)]))
        server.add_sockets(sockets)
        port = sockets[0].getsockname()[1]
        reply = await tornado.httpclient.AsyncHTTPClient().fetch(f"http://127.0.0.1:{port}/")
        server.stop()
        await server.close_all_connections()
        return {"ioloop": _qualname(io), "is_BaseAsyncIOLoop": isinstance(io, BaseAsyncIOLoop),
                "asyncio_loop": _qualname(io.asyncio_loop),
                "same_loop": io.asyncio_loop is asyncio.get_running_loop(),
                "status": reply.code, "body": reply.body.decode()}

    out: dict[str, Any] = {"python": _python(), "tornado": tornado.version}
    out["asyncio"] = asyncio.run(main())
    import uvloop
    out["uvloop"] = uvloop.run(main())
    return out


def _exp_curio() -> dict[str, Any]:
    import curio

    async def handle(client: Any, addr: Any) -> None:
        async with client:
            while data := await client.recv(1000):
                await client.sendall(data)

    async def main() -> list[str]:
        # tcp_server(host, port, handle) is tcp_server_socket() + run_server() (curio/network.py,
        # 1.6); calling the two ourselves gives a socket that is listening before any client
        # connects, on a free port.
        sock = curio.network.tcp_server_socket("127.0.0.1", 0)
        port = sock._socket.getsockname()[1]
        server = await curio.spawn(curio.network.run_server, sock, handle)
        got = []
        async with await curio.open_connection("127.0.0.1", port) as client:
            for word in ("ping", "pong"):
                await client.sendall(word.encode())
                got.append((await client.recv(100)).decode())
        await server.cancel()
        return got

    return {"ok": True, "python": _python(), "curio": curio.__version__, "echoed": curio.run(main)}


def _exp_trio() -> dict[str, Any]:
    """Three programs, each on trio and on asyncio; each child records what it saw.

    1. deadline: a parent gives two children (done after 1 s and after 10 s) a 5 s deadline:
       trio ``move_on_after(5)`` around a nursery; asyncio ``timeout(5)`` around a TaskGroup.
    2. failure: a child raises ValueError at 1 s while its sibling sleeps 10 s.
    3. checkpoints: a scope is cancelled before a loop of 1000 steps runs; once without any
       checkpoint (the loop cannot be interrupted: it runs every step), once with
       ``trio.lowlevel.checkpoint()`` / ``asyncio.sleep(0)`` in each step.
    """
    import asyncio

    import trio
    import trio.testing

    from lessons import virtual_time

    started = time.perf_counter()
    rows: list[dict[str, Any]] = []

    # ---- trio
    async def t_child(name: str, delay: float, log: dict[str, str], fail: bool = False) -> None:
        try:
            await trio.sleep(delay)
        except trio.Cancelled:
            log[name] = "saw Cancelled"
            raise
        if fail:
            log[name] = "raised ValueError"
            raise ValueError(name)
        log[name] = "finished"

    async def t_deadline() -> dict[str, Any]:
        log: dict[str, str] = {}
        with trio.move_on_after(5) as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(t_child, "fast (1 s)", 1, log)
                nursery.start_soon(t_child, "slow (10 s)", 10, log)
        return {"children": log, "parent": f"went on, no exception (cancelled_caught={scope.cancelled_caught})",
                "virtual_s": trio.current_time()}

    async def t_failure() -> dict[str, Any]:
        log: dict[str, str] = {}
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(t_child, "failing (1 s)", 1, log, True)
                nursery.start_soon(t_child, "sibling (10 s)", 10, log)
            parent = "nothing"
        except BaseException as group:         # an ExceptionGroup (strict_exception_groups=True)
            parent = _group(group)
        return {"children": log, "parent": parent, "virtual_s": trio.current_time()}

    async def t_checkpoints(with_checkpoints: bool) -> dict[str, Any]:
        steps = 0
        with trio.CancelScope() as scope:
            scope.cancel()                     # cancelled before the loop starts
            for _ in range(1000):
                steps += 1
                if with_checkpoints:
                    await trio.lowlevel.checkpoint()
        return {"children": {"loop": f"ran {steps} of 1000 steps"},
                "parent": f"cancelled_caught={scope.cancelled_caught}", "virtual_s": trio.current_time()}

    def on_trio(fn: Callable[..., Any], *args: Any) -> dict[str, Any]:
        return trio.run(fn, *args, clock=trio.testing.MockClock(autojump_threshold=0))

    # ---- asyncio: the same programs
    async def a_child(name: str, delay: float, log: dict[str, str], fail: bool = False) -> None:
        try:
            await asyncio.sleep(delay)
        except asyncio.CancelledError:
            log[name] = "saw CancelledError"
            raise
        if fail:
            log[name] = "raised ValueError"
            raise ValueError(name)
        log[name] = "finished"

    async def a_deadline() -> dict[str, Any]:
        log: dict[str, str] = {}
        try:
            async with asyncio.timeout(5):
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(a_child("fast (1 s)", 1, log))
                    tg.create_task(a_child("slow (10 s)", 10, log))
            parent = "nothing"
        except TimeoutError:
            parent = "TimeoutError"
        return {"children": log, "parent": parent}

    async def a_failure() -> dict[str, Any]:
        log: dict[str, str] = {}
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(a_child("failing (1 s)", 1, log, True))
                tg.create_task(a_child("sibling (10 s)", 10, log))
            parent = "nothing"
        except BaseException as group:
            parent = _group(group)
        return {"children": log, "parent": parent}

    async def a_checkpoints(with_checkpoints: bool) -> dict[str, Any]:
        steps = 0

        async def body() -> None:
            nonlocal steps
            asyncio.current_task().cancel()    # type: ignore[union-attr]  # as trio's scope.cancel()
            for _ in range(1000):
                steps += 1
                if with_checkpoints:
                    await asyncio.sleep(0)
        try:
            await asyncio.ensure_future(body())
            parent = "task finished"
        except asyncio.CancelledError:
            parent = "CancelledError"
        return {"children": {"loop": f"ran {steps} of 1000 steps"}, "parent": parent}

    def on_asyncio(fn: Callable[..., Any], *args: Any) -> dict[str, Any]:
        result, elapsed = virtual_time.run(fn(*args))
        return {**result, "virtual_s": elapsed}

    for scenario, t_fn, a_fn, args in (("deadline 5 s", t_deadline, a_deadline, ()),
                                       ("a child fails", t_failure, a_failure, ()),
                                       ("cancel, no checkpoint", t_checkpoints, a_checkpoints, (False,)),
                                       ("cancel, checkpoints", t_checkpoints, a_checkpoints, (True,))):
        rows.append({"scenario": scenario, "framework": f"trio {trio.__version__}", **on_trio(t_fn, *args)})
        rows.append({"scenario": scenario, "framework": "asyncio", **on_asyncio(a_fn, *args)})
    return {"python": _python(), "trio": trio.__version__, "rows": rows,
            "wall_s": round(time.perf_counter() - started, 3)}


def _group(exc: BaseException) -> str:
    """``ExceptionGroup[ValueError]``: an exception group's type and what it holds."""
    inner = getattr(exc, "exceptions", None)
    if inner is None:
        return type(exc).__name__
    return f"{type(exc).__name__}[{', '.join(type(e).__name__ for e in inner)}]"


def _exp_meinheld() -> dict[str, Any]:
    import threading
    import urllib.request

    from meinheld import server          # the C extension: fails here if it cannot load

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"hello from meinheld"]

    sock = _listener()
    port = sock.getsockname()[1]
    sock.close()
    server.listen(("127.0.0.1", port))   # bound and listening when this returns
    server.set_access_logger(None)
    out: dict[str, Any] = {"ok": True, "python": _python()}

    def client() -> None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=20) as reply:
                out["body"] = reply.read().decode()
        finally:
            server.shutdown()            # run() returns once this request is done

    threading.Thread(target=client).start()
    server.run(app)
    try:
        import greenlet
        out["greenlet"] = greenlet.__version__
    except ImportError:
        out["greenlet"] = None
    return out


def main(argv: list[str]) -> None:
    """Child entry point: ``main([name, *args])`` prints the experiment's answer as one JSON line.
    ``main(["--warm"])`` is the parent's: see ``warm()``."""
    if argv == ["--warm"]:
        raise SystemExit(warm())
    if not argv:
        raise SystemExit("usage: python -m lessons.landscape_runs --warm | <experiment> [args]")
    name, *args = argv
    experiments: dict[str, Callable[..., dict[str, Any]]] = {
        "uvloop_echo": lambda: _exp_uvloop_echo(int(args[0])),
        "uvloop_speed": lambda: _exp_uvloop_speed(int(args[0])),
        "sanic": lambda: _exp_sanic(args[0] == "1"),
        "tornado": _exp_tornado,
        "curio": _exp_curio,
        "trio": _exp_trio,
        "meinheld": _exp_meinheld,
    }
    if name not in experiments:
        raise SystemExit(f"no experiment {name!r}; there are: {', '.join(experiments)}")
    print(json.dumps(experiments[name]()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
