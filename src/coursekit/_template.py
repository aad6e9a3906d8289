"""The warm template: one per sandbox, it forks a fresh child for every call.

Run as a script (``python -I -B -X utf8 _template.py CONTROL_FD CONFIG_JSON``) inside the
grader's sandbox, so it imports only the standard library. See sandbox.py for the whole
design; this side's duties are:

* drop to the unprivileged uid it is given (when the sandbox starts it as root), become a
  child subreaper (orphans of the code under test come back to it), and set the resource
  limits that every child inherits;
* import the harness (_child.py) and the standard-library modules tests commonly need once,
  so that a call costs a fork, not an interpreter start;
* on a "start" message, which carries the call's pipes as file descriptors (SCM_RIGHTS),
  fork; the child starts its own session, points stdout/stderr at the output pipe and runs
  ``_child.main``: the learner's module is imported *after* the fork, so every call starts
  clean;
* report each child's exit status; on "dump" send the child SIGUSR1 (faulthandler writes its
  stacks); on "kill" kill every process it has started (in a PID namespace of its own, with
  one ``kill(-1)``), wait until all are gone, and reply;
* end, killing everything, when the grader closes the control socket.

Messages are JSON objects, one per SOCK_SEQPACKET datagram.
"""

import json
import os
import resource
import select
import signal
import socket
import sys

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
KILL_PATIENCE = 3.0     # seconds to get rid of every descendant before saying it failed

# Imported once here so that each forked call skips them; none has process-wide state that
# a fork could share between calls (random reseeds itself after a fork).
PRELOAD = ("json", "faulthandler", "traceback", "types", "struct", "threading", "queue",
           "collections", "dataclasses", "functools", "itertools", "time", "random",
           "socket", "selectors", "concurrent.futures", "multiprocessing", "multiprocessing.pool",
           "asyncio", "contextlib", "typing", "inspect", "math", "statistics", "heapq", "bisect",
           # lesson 06's crawler tests exec lessons/linksite.py (a ThreadingHTTPServer) in every call
           "http.server", "socketserver", "urllib.parse", "contextvars",
           # lesson 08's greenlet tasks import it in every call (1.6 ms, python -X importtime)
           "greenlet")


def _subreaper() -> None:
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        # setuid() made this process (and so every child) "not dumpable", which hides
        # /proc/<pid>/smaps_rollup from us: the memory watch needs it readable again
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the parent's process-group kill is the fallback


def _limits(cfg: dict) -> None:
    for name, value in cfg.get("limits", {}).items():
        res = getattr(resource, name, None)
        if res is None or value is None:
            continue
        soft, hard = resource.getrlimit(res)
        new = value if hard == resource.RLIM_INFINITY else min(value, hard)
        try:
            resource.setrlimit(res, (new, new))
        except (ValueError, OSError):
            pass


def _descendants(me: int) -> list:
    """Every live process below this one, found through /proc/*/stat's parent field."""
    parents: dict = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2:].split()
        if fields[0] == b"Z":
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [me]
    while todo:
        for pid in parents.get(todo.pop(), ()):
            found.append(pid)
            todo.append(pid)
    return found


# What the template knows of the children it forked for calls.
_children: set = set()  # their pids
_exited: dict = {}      # pid -> exit status, once reaped
_reasons: dict = {}     # pid -> why the template killed it (a limit), for the learner


def _reap() -> None:
    """Reap every ended child (a subreaper: orphans too) and keep the statuses of ours."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in _children:
            _exited[pid] = os.waitstatus_to_exitcode(status)


def _kill_all(me: int, everyone: bool = False) -> bool:
    """SIGKILL every descendant until none is left (a fork bomb keeps forking while we kill).

    With `everyone` (the sandbox's own PID namespace), kill(-1) first: it signals every
    process this one may signal but itself and the namespace's init - exactly the call's
    processes - in one pass the kernel makes atomic with fork, so a fork bomb cannot outrun
    it; the loop then only waits for them to die."""
    import time
    if everyone:
        try:
            os.kill(-1, signal.SIGKILL)
        except OSError:
            pass   # nothing to signal
    end = time.monotonic() + KILL_PATIENCE
    while True:
        left = _descendants(me)
        if not left:
            return True
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if time.monotonic() > end:
            return False
        time.sleep(0.001)
        _reap()


def _wipe(folders, keep) -> None:
    """Empty the sandbox's scratch folders (its own /tmp and /dev/shm), so that what one call
    left there, a full disk included, is not the next call's problem."""
    import shutil
    for folder in folders:
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for name in entries:
            path = os.path.join(folder, name)
            if path in keep:
                continue
            try:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    os.unlink(path)
            except OSError:
                pass


def _resident(me: int, page: int, limit: int) -> int:
    """Bytes of memory used by every process below this one. The sum of resident sizes is
    cheap but counts pages that forked processes share once per process; only when it passes
    `limit` is it checked with the proportional set size (Pss: each shared page split among
    its sharers), which costs the kernel a walk of each process's page tables."""
    pids = _descendants(me)
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            pass
    if total <= limit:
        return total
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                for line in f:
                    if line.startswith(b"Pss:"):
                        total += int(line.split()[1]) * 1024
                        break
        except (OSError, IndexError, ValueError):
            pass
    return total


def _send(sock, message: dict) -> None:
    try:
        sock.send(json.dumps(message).encode())
    except OSError:
        pass


def _run_child(fds: list, cwd: str, cfg: dict, sock) -> None:
    """In the forked child: become a clean, separate process, then run one call."""
    try:
        sock.close()
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGUSR1, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        req, res, stk, out = fds
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        for fd in (devnull, out):
            os.close(fd)
        os.chdir(cwd)
        cpu = cfg.get("cpu_seconds")
        if cpu:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        sys.argv = [_child.HARNESS]
        _child.main(req, res, stk)
    finally:
        os._exit(70)


def main(ctl_fd: int, config: str) -> None:
    cfg = json.loads(config)
    sock = socket.socket(fileno=ctl_fd)
    if cfg.get("uid") is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(cfg["gid"])
        os.setuid(cfg["uid"])
    _subreaper()
    _limits(cfg)
    os.environ.clear()
    os.environ.update(cfg.get("env", {}))
    global _child
    # the harness next to this file (-I keeps this folder off sys.path, which is as it should be)
    import importlib.util
    spec = importlib.util.spec_from_file_location("_child", os.path.join(os.path.dirname(os.path.abspath(__file__)), "_child.py"))
    _child = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(_child)
    for name in PRELOAD:
        try:
            __import__(name)
        except ImportError:
            pass
    me = os.getpid()
    _send(sock, {"ready": True, "pid": me, "uid": os.getuid()})
    pidfds: dict = {}
    memory_total = cfg.get("memory_total")
    everyone = bool(cfg.get("kill_all"))
    page = os.sysconf("SC_PAGE_SIZE")
    while True:
        # while a call runs, wake up every 50 ms to add up its processes' memory
        ready, _, _ = select.select([sock, *pidfds], [], [], 0.05 if (pidfds and memory_total) else None)
        if not ready and pidfds and memory_total:
            used = _resident(me, page, memory_total)
            if used > memory_total:
                _kill_all(me, everyone)
                for pid in list(pidfds.values()):
                    _reasons[pid] = (f"its processes used {used >> 20} MiB of memory together, more than "
                                     f"the limit of {memory_total >> 20} MiB")
            continue
        for fd in ready:
            if fd in pidfds:
                os.close(fd)
                pid = pidfds.pop(fd)
                _reap()
                if pid in _exited:
                    _send(sock, {"exit": pid, "status": _exited[pid], "why": _reasons.get(pid, "")})
                continue
            try:
                data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 8)
            except OSError:
                data, fds = b"", []
            if not data:
                _kill_all(me, everyone)
                os._exit(0)
            msg = json.loads(data)
            op = msg["op"]
            if op == "start":
                pid = os.fork()
                if pid == 0:
                    _run_child(fds, msg["cwd"], cfg, sock)
                for f in fds:
                    os.close(f)
                _children.add(pid)
                try:
                    pidfds[os.pidfd_open(pid)] = pid
                except (AttributeError, OSError):
                    pass  # no pidfd: the exit is seen at "kill"
                _send(sock, {"pid": pid})
            elif op == "dump":
                try:
                    os.kill(msg["pid"], signal.SIGUSR1)
                    ok = True
                except OSError:
                    ok = False
                _send(sock, {"dumped": ok})
            elif op == "kill":
                pid = msg["pid"]
                clean = _kill_all(me, everyone)
                _reap()
                _wipe(cfg.get("scratch", ()), cfg.get("keep", ()))
                for pfd in list(pidfds):
                    os.close(pfd)
                    del pidfds[pfd]
                _children.discard(pid)
                _send(sock, {"killed": clean, "status": _exited.pop(pid, None), "why": _reasons.pop(pid, "")})
                _exited.clear()
                _reasons.clear()


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
