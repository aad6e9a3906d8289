"""The grader's sandbox: one per submission, with a warm template process inside.

Design
======

The runner (runner.py) already keeps the oracle out of the learner's process: every call is
a fresh child, only JSON comes back, and a call that overruns is killed with everything it
started. The grader adds two things a checker on the learner's own laptop does not need:
*containment* (a submission is untrusted code) and *throughput* (a class of submissions,
each a few hundred calls).

1. Containment with bubblewrap. Each submission gets one ``bwrap`` sandbox whose filesystem
   holds only the Python runtime, the two harness files and a *copy* of the submission, all
   read-only, plus a private /tmp and /dev/shm of bounded size (memory, not the host's disk),
   emptied after every call. The repository, tests/, the instructor's
   tests, solutions/ and the output folder are not there at all, so no path, relative or
   absolute, reaches them. It also gets a network namespace of its own (loopback works, any
   other address is unreachable), a PID namespace (the code sees only its own processes, and
   all of them die with the sandbox) and no capabilities. When the grader runs as root, the
   template drops to an unprivileged uid that the sandbox has *leased* for its whole life
   (quota.py: a flock'd file per uid in a root-owned folder, freed by the kernel if the grader
   dies), so no other sandbox, grader or process on the host shares it, and RLIMIT_NPROC
   (which the kernel never applies to root) bounds a fork bomb for this sandbox alone. (A uid
   per job slot, the first design, was shared by two graders' slot 0: one's fork bomb spent
   the other's budget, and a correct submission beside it lost its points.)

2. Limits. The template sets address space, file size, open files, processes and core size
   before it forks (children inherit them) and CPU seconds in each child. Because those are
   per process, it also watches the resident memory of all of a call's processes together
   (every 50 ms) and kills the call when the sum passes ``memory_total``. Where the host
   allows it (root, and cgroup v2 with pids and memory delegated, or cgroup v1), the whole
   sandbox also runs in a cgroup of its own (quota.py) with ``pids.max`` and a memory limit
   the kernel enforces between those samples, as contest judges do. Output is capped by
   the runner (64 KiB per call); the time of a call by the runner's deadline (time the call
   waited for a busy CPU does not count, so load costs no points: runner.py); the time of a
   whole submission by the grader, which kills the worker and, with it, the sandbox
   (``--die-with-parent``).

3. Speed with a template. Starting an interpreter costs 10-30 ms and bubblewrap a few more;
   a forked child of an interpreter that has already imported the harness and the usual
   standard-library modules costs about a millisecond. The learner's module is imported
   *after* the fork, so every call still starts clean: a call cannot see a global another
   call changed, a thread it left behind, or a process it started. After each call the
   template sends SIGKILL to every process it may signal (``kill(-1)``: in the PID namespace
   that is exactly the call's processes, in one atomic sweep a fork bomb cannot outrun), and
   waits until none of its descendants is left (as a child subreaper it inherits any that
   double-forked); the grader then checks the cgroup, when there is one, for anything but
   bubblewrap and the template, kills it and waits, or starts a fresh sandbox.

4. The same runner. ``SandboxLauncher`` is a ``runner.Launcher`` whose ``start`` asks the
   template to fork instead of calling ``subprocess``; the runner's protocol, deadlines,
   stack dumps and messages are unchanged, so the grader's verdicts are check()'s verdicts.

Without bubblewrap (macOS, a container that forbids namespaces) the template runs as a plain
process with the same limits, process groups and subreaper, and the grader says once that
the filesystem, network and PID isolation are missing. ``Sandbox(isolate=False)`` asks for
that mode explicitly (``--no-sandbox``). What the fallbacks lack: without root, bubblewrap's
user namespace maps the code to the grader's own uid, so RLIMIT_NPROC counts every process
of that user (other sandboxes and graders included), and only a delegated cgroup v2 gives a
sandbox limits of its own; without bubblewrap, the template keeps the grader's uid (as root
it runs as root, bounded only by the cgroup, when there is one), and after a call only the
processes it can still find through its descendants are killed.

Rejected: one sandbox per call (bubblewrap plus a cold interpreter is 15-40 ms a call, and
the 10 ms goal would be lost); exec'ing a new interpreter per call inside one sandbox (the
same cold start); containers (no Docker engine where classes are graded on laptops and CI
runners, and a container image per course is heavy); seccomp filters (bubblewrap's
namespaces already remove the network and the host's processes; a syscall filter strict
enough to matter breaks multiprocessing, which the course teaches).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import psutil

from .quota import Cgroup, QuotaError, UidLease, lease_uid
from .runner import CHILD, TEMPLATE, Child, Launcher, _kill, _Tree, _threads_of

MiB = 1024 * 1024
READY_WAIT = 15.0       # seconds for the template to start
REPLY_WAIT = 10.0       # seconds for the template to answer a request
CGROUP_HEADROOM = 256 * MiB   # the template, bubblewrap and page cache, beyond a call's memory


class SandboxError(RuntimeError):
    """The sandbox could not start or stopped answering."""


@dataclass(frozen=True)
class Limits:
    """Resource limits for the code under test (per process; processes per uid)."""

    address_space: int = 2048 * MiB    # per process (RLIMIT_AS)
    memory_total: int = 2048 * MiB     # resident memory of all of a call's processes together
    file_size: int = 64 * MiB
    scratch: int = 64 * MiB            # size of each of the sandbox's /tmp and /dev/shm
    open_files: int = 256
    processes: int = 256
    cpu_seconds: int = 60

    def rlimits(self) -> dict[str, int]:
        return {"RLIMIT_AS": self.address_space, "RLIMIT_FSIZE": self.file_size,
                "RLIMIT_NOFILE": self.open_files, "RLIMIT_NPROC": self.processes, "RLIMIT_CORE": 0}


@lru_cache(maxsize=1)
def bubblewrap() -> tuple[str | None, str]:
    """(path to a working bwrap, or None; why not). Tried once per process."""
    path = shutil.which("bwrap")
    if path is None:
        return None, "bwrap is not installed"
    probe = [path, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--unshare-pid",
             "--unshare-net", "--die-with-parent", "true"]
    try:
        done = subprocess.run(probe, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"bwrap does not run: {exc}"
    if done.returncode != 0:
        why = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        return None, f"bwrap cannot create namespaces here ({why})"
    return path, ""


def _runtime_paths(python: str) -> list[str]:
    """The folders a Python interpreter needs: its prefix (a venv), its base prefix and
    where its binary really lives."""
    paths = {sys.prefix, sys.base_prefix, sysconfig.get_paths()["stdlib"],
             str(Path(os.path.realpath(python)).parent.parent)}
    out = []
    for p in sorted(paths, key=len):
        if any(p == q or p.startswith(q.rstrip("/") + "/") for q in out):
            continue
        if p in ("/", "/usr") or not os.path.isdir(p):
            continue
        out.append(p)
    return out


def _parents_of(path: str) -> list[str]:
    parts = Path(path).parents
    return [str(p) for p in reversed(list(parts)) if str(p) != "/"]


@dataclass
class Sandbox:
    """One submission's sandbox. Use it as a context manager; ``launcher()`` gives the
    runner a launcher that forks children inside it.

    `folder` is the writable copy of the submission (the only part of the host's disk the code
    sees besides the runtime). `slot` is where the search for a free uid starts (as root), so
    that one grader alone always gets the same uids.
    """

    folder: Path
    slot: int = 0
    limits: Limits = field(default_factory=Limits)
    isolate: bool = True
    python: str = sys.executable
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    sock: socket.socket | None = field(default=None, init=False)
    uid: int | None = field(default=None, init=False)
    isolated: bool = field(default=False, init=False)
    cgroup: Cgroup | None = field(default=None, init=False)
    lease: UidLease | None = field(default=None, init=False)
    _keep: frozenset[int] = field(default=frozenset(), init=False)   # host pids: bwrap, its init, the template
    _template: int | None = field(default=None, init=False)          # the template's host pid
    _cgroup_refused: bool = field(default=False, init=False)
    _pending: list[dict] = field(default_factory=list, init=False)

    # ------------------------------------------------------------------ life cycle
    def __enter__(self) -> Sandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        bwrap, _ = bubblewrap() if self.isolate else (None, "")
        root = os.getuid() == 0
        if root and bwrap and self.lease is None:
            try:
                self.lease = lease_uid(self.slot)
            except QuotaError as exc:
                raise SandboxError(f"could not start the sandbox: {exc}") from None
        self.uid = self.lease.uid if self.lease else None
        if self.cgroup is None and not self._cgroup_refused:
            self.cgroup = Cgroup.create(self.limits.processes + 16,
                                        self.limits.memory_total + 2 * self.limits.scratch + CGROUP_HEADROOM)
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
               "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
        cfg = {"uid": self.uid, "gid": self.uid, "limits": self.limits.rlimits(),
               "cpu_seconds": self.limits.cpu_seconds, "memory_total": self.limits.memory_total, "env": env,
               # emptied after every call; only inside bubblewrap, where they are the sandbox's own
               "scratch": ["/tmp", "/dev/shm"] if bwrap else [],
               # kill(-1) after a call reaches the call's processes only: in a PID namespace of its own
               "kill_all": bool(bwrap),
               "keep": self._mount_points()}
        inner = [self.python, "-I", "-B", "-X", "utf8", str(TEMPLATE), str(child.fileno()), json.dumps(cfg)]
        if bwrap:
            os.chmod(self.folder, 0o755)   # bwrap enters it before the template drops to its uid
            command = [bwrap, *self._bwrap_args(root), *inner]
        else:
            command = inner
        while True:
            try:
                self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=subprocess.PIPE, pass_fds=(child.fileno(),),
                                             env=env, cwd=self.folder, start_new_session=True,
                                             # born in the sandbox's cgroup, before bwrap forks anything
                                             preexec_fn=self.cgroup.join if self.cgroup else None)
                break
            except subprocess.SubprocessError as exc:
                if self.cgroup is None:
                    parent.close()
                    child.close()
                    raise SandboxError(f"could not start the sandbox: {exc}") from None
                # a cgroup we could create but not enter (a container's rules): do without
                self.cgroup.remove()
                self.cgroup = None
                self._cgroup_refused = True
            except OSError as exc:
                parent.close()
                child.close()
                raise SandboxError(f"could not start the sandbox: {exc}") from None
        child.close()
        self.sock = parent
        self.isolated = bool(bwrap)
        try:
            ready = self._receive(READY_WAIT, "ready")
        except SandboxError:
            err = b""
            if self.proc.stderr:
                try:
                    self.proc.kill()
                    err = self.proc.stderr.read()
                except OSError:
                    pass
            self.close()
            last = (err.decode(errors="replace").strip().splitlines() or ["no message"])[-1]
            raise SandboxError(f"the sandbox did not start: {last}") from None
        if self.proc.stderr:
            self.proc.stderr.close()
            self.proc.stderr = None
        self._note_infrastructure(ready["pid"])

    def _note_infrastructure(self, ns_pid: int) -> None:
        """Remember the host pids of bubblewrap, its init and the template (the processes that
        outlive calls), and which of them is the template (`ns_pid` in its own namespace)."""
        assert self.proc is not None
        keep = {self.proc.pid}
        self._template = self.proc.pid
        try:
            for p in psutil.Process(self.proc.pid).children(recursive=True):
                keep.add(p.pid)
                with open(f"/proc/{p.pid}/status") as f:
                    nspid = next((ln.split()[1:] for ln in f if ln.startswith("NSpid:")), [])
                if nspid and int(nspid[-1]) == ns_pid and p.name() != "bwrap":
                    self._template = p.pid
        except (psutil.Error, OSError, ValueError):
            pass
        self._keep = frozenset(keep)

    def call_threads(self) -> list[int]:
        """Host thread ids of every process of the running call (the template runs one call at
        a time), for the runner's clock."""
        if self.cgroup is not None:
            return [t for t in self.cgroup.threads() if t not in self._keep]
        if self._template is None:
            return []
        try:
            kids = psutil.Process(self._template).children(recursive=True)
        except psutil.Error:
            return []
        return [t for p in kids for t in _threads_of(p.pid)]

    def clear(self) -> bool:
        """After a call: kill whatever of it is still in the sandbox's cgroup and wait until it
        is gone. False if something would not die."""
        if self.cgroup is None:
            return True
        return self.cgroup.kill(keep=self._keep)

    def _bound(self) -> list[str]:
        """Every path bound into the sandbox from the host."""
        return [*_runtime_paths(self.python), str(CHILD), str(TEMPLATE), str(self.folder)]

    def _mount_points(self) -> list[str]:
        """Entries of /tmp that hold bind mounts (the submission, a venv under /tmp): the
        template's wipe of /tmp must leave them alone."""
        keep = []
        for path in self._bound():
            parts = Path(path).parts
            if len(parts) > 2 and parts[1] == "tmp":
                keep.append(str(Path("/tmp", parts[2])))
        return sorted(set(keep))

    def _bwrap_args(self, root: bool) -> list[str]:
        args = ["--die-with-parent", "--new-session", "--unshare-pid", "--unshare-net", "--unshare-ipc",
                "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
                "--proc", "/proc", "--dev", "/dev",
                # scratch space in memory, bounded: a disk filler hits ENOSPC, not the host
                "--perms", "1777", "--size", str(self.limits.scratch), "--tmpfs", "/dev/shm",
                "--perms", "1777", "--size", str(self.limits.scratch), "--tmpfs", "/tmp"]
        for system in ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin"):
            if os.path.islink(system):
                args += ["--symlink", os.readlink(system), system]
            elif os.path.isdir(system):
                args += ["--ro-bind", system, system]
        for etc in ("/etc/ld.so.cache", "/etc/localtime", "/etc/nsswitch.conf", "/etc/hosts",
                    "/etc/host.conf", "/etc/gai.conf", "/etc/alternatives"):
            args += ["--ro-bind-try", etc, etc]
        made: set[str] = set()
        for path in self._bound():
            for parent in _parents_of(path):
                # folders the runtime lives under (e.g. /root) must be traversable by the
                # unprivileged uid, whatever their mode on the host
                if parent not in made and not parent.startswith("/usr") and parent != "/tmp":
                    args += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
        for path in _runtime_paths(self.python):
            args += ["--ro-bind", path, path]
        for path in (CHILD, TEMPLATE):
            args += ["--ro-bind", str(path), str(path)]
        # read-only: the code under test writes only to its bounded /tmp, never to the host's disk
        args += ["--ro-bind", str(self.folder), str(self.folder), "--chdir", str(self.folder)]
        if root:
            # the template needs these two to drop to its uid; setuid() then clears all caps
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        return args

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()   # the template kills what it started and exits
            self.sock = None
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._destroy()
            if self.proc.stderr:
                self.proc.stderr.close()
            self.proc = None
        if self.cgroup is not None:
            self.cgroup.remove()   # kills anything left, so the uid is free when the lease is
            self.cgroup = None
        if self.lease is not None:
            self.lease.release()
            self.lease = None

    def _destroy(self) -> None:
        """Kill the whole sandbox: bwrap's process group and every descendant."""
        if self.proc is None:
            return
        _kill(self.proc, _Tree(self.proc.pid))
        if self.cgroup is not None:
            self.cgroup.kill()

    def restart(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._destroy()
        self.proc = None
        self.start()

    @property
    def alive(self) -> bool:
        return self.sock is not None and self.proc is not None and self.proc.poll() is None

    # ------------------------------------------------------------------ messages
    def request(self, message: dict, key: str, fds: tuple[int, ...] = ()) -> dict:
        assert self.sock is not None
        try:
            if fds:
                socket.send_fds(self.sock, [json.dumps(message).encode()], list(fds))
            else:
                self.sock.send(json.dumps(message).encode())
        except OSError as exc:
            raise SandboxError(f"the sandbox stopped answering: {exc}") from None
        return self._receive(REPLY_WAIT, key)

    def _receive(self, wait: float, key: str) -> dict:
        """The next message carrying `key`; exit notices that arrive first are kept."""
        assert self.sock is not None
        for i, m in enumerate(self._pending):
            if key in m:
                return self._pending.pop(i)
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise SandboxError("the sandbox stopped answering")
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(1 << 16)
            except (TimeoutError, OSError):
                raise SandboxError("the sandbox stopped answering") from None
            if not data:
                raise SandboxError("the sandbox ended unexpectedly")
            msg = json.loads(data)
            if key in msg:
                return msg
            self._pending.append(msg)

    def exit_notice(self, pid: int) -> dict | None:
        """The template's notice that child `pid` has ended, if it has come (not waiting)."""
        if self.sock is None:
            return None
        self.sock.setblocking(False)
        try:
            while True:
                try:
                    data = self.sock.recv(1 << 16)
                except OSError:   # nothing more for now (or the template is gone)
                    break
                if not data:
                    break
                self._pending.append(json.loads(data))
        finally:
            self.sock.setblocking(True)
        for m in self._pending:
            if m.get("exit") == pid:
                self._pending.remove(m)
                return m
        return None

    def forget_exits(self) -> None:
        """Drop exit notices that nobody will ask for any more (a finished call's)."""
        self._pending = [m for m in self._pending if "exit" not in m]

    def launcher(self) -> SandboxLauncher:
        return SandboxLauncher(sandbox=self)


class _ForkedChild(Child):
    """A child the template forked: its pid lives in the sandbox's PID namespace, so every
    signal goes through the template."""

    def __init__(self, sandbox: Sandbox, pid: int, out_fd: int) -> None:
        self.sandbox = sandbox
        self.pid = pid
        self.out_fd = out_fd
        self.status: int | None = None
        self.killed = False
        self.ooms = sandbox.cgroup.oom_kills() if sandbox.cgroup else 0

    def poll(self) -> int | None:
        if self.status is None and (notice := self.sandbox.exit_notice(self.pid)) is not None:
            self.status = notice["status"]
            self.why = notice.get("why", "")
            group = self.sandbox.cgroup
            if not self.why and self.status == -signal.SIGKILL and group and group.oom_kills() > self.ooms:
                limit = self.sandbox.limits.memory_total + 2 * self.sandbox.limits.scratch + CGROUP_HEADROOM
                self.why = (f"the kernel killed it: the sandbox's processes together reached its memory "
                            f"limit of {limit >> 20} MiB")
        if self.status is None and not self.sandbox.alive:
            # the whole sandbox ended (its template was killed, so bubblewrap's init left and
            # took every process of the PID namespace with it): nobody will report an exit
            self.status = -signal.SIGKILL
            self.why = "the sandbox ended under it (was its template process killed?)"
        return self.status

    def wait(self) -> int:
        while self.poll() is None:
            time.sleep(0.002)
        assert self.status is not None
        return self.status

    def threads(self) -> list[int]:
        return self.sandbox.call_threads()

    def dump_stacks(self) -> bool:
        try:
            return bool(self.sandbox.request({"op": "dump", "pid": self.pid}, "dumped")["dumped"])
        except SandboxError:
            return False

    def kill(self) -> None:
        if self.killed:
            return
        self.killed = True
        try:
            reply = self.sandbox.request({"op": "kill", "pid": self.pid}, "killed")
            if self.status is None and reply.get("status") is not None:
                self.status = reply["status"]
            clean = reply["killed"]
        except SandboxError:
            clean = False
        if not clean and not self.sandbox.isolated:
            # no PID namespace to take it along: the child's pid is a host pid; its session
            # (setsid) is its process group
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except OSError:
                pass
        self.sandbox.forget_exits()
        os.close(self.out_fd)
        clean = self.sandbox.clear() and clean
        if not clean:
            # something would not die (or the template was killed): start the next call in
            # a new sandbox; the PID namespace takes every process of this one with it
            try:
                self.sandbox.restart()
            except SandboxError:
                pass   # the next call's start() tries again, and reports it if it fails


@dataclass
class SandboxLauncher(Launcher):
    """A runner launcher that forks each call's child from the sandbox's template."""

    sandbox: Sandbox | None = None

    def start(self, fds: tuple[int, int, int], cwd: Path) -> Child:
        sandbox = self.sandbox
        assert sandbox is not None
        if not sandbox.alive:
            try:
                sandbox.restart()
            except SandboxError as exc:
                raise OSError(str(exc)) from None
        out_r, out_w = os.pipe()
        try:
            reply = sandbox.request({"op": "start", "cwd": str(cwd)}, "pid", fds=(*fds, out_w))
        except SandboxError as exc:
            os.close(out_r)
            raise OSError(str(exc)) from None
        finally:
            os.close(out_w)
        return _ForkedChild(sandbox, reply["pid"], out_r)
