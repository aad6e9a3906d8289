"""What a sandbox takes from the host for itself alone: a uid and a cgroup.

Two graders on one host are ordinary (a TA grading two sections, CI jobs side by side), so no
limit of one sandbox may be shared with another sandbox, another grader or any other process:

* ``lease_uid`` reserves an unprivileged uid for as long as the sandbox lives. RLIMIT_NPROC
  counts the processes of a *uid*, so a uid per job slot (what the grader did first) let one
  grader's fork bomb spend the process budget of a second grader's sandbox with the same
  slot. A lease is an exclusive ``flock`` on a file per uid in a root-owned folder: every
  grader on the host tries the same files, the kernel drops the lock when its holder dies
  (so a crashed grader's uids free themselves), and a uid that a passwd entry names or a
  live process still runs as is skipped.
* ``Cgroup`` puts the whole sandbox (bubblewrap, the template, every call) in a control group
  of its own with ``pids.max`` and a memory limit, as contest judges (isolate, DOMjudge) do:
  the kernel then bounds processes and memory for the sandbox as a whole, and the cgroup's
  member list is the complete, race-free answer to "what is still running in there?".
  cgroup v2 is used where the host delegates ``pids`` and ``memory`` next to the grader's own
  cgroup; else cgroup v1's ``pids`` and ``memory`` hierarchies, nested under the grader's own
  cgroups; else nothing (``cgroup_support()`` says why) and the uid and rlimits are all.

Both need root (bubblewrap runs unprivileged through a user namespace, where the uid is the
grader's own and cannot be made unique: see sandbox.py's design notes).
"""

from __future__ import annotations

import errno
import fcntl
import os
import pwd
import re
import signal
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import count
from pathlib import Path

# 60000-60999 is what isolate uses and 61184-65519 systemd's DynamicUser range: this pool sits
# between them, so a lease never collides with either.
UID_POOL = range(61000, 61184)
LEASE_DIRS = (Path("/run/coursekit-uids"), Path(tempfile.gettempdir()) / "coursekit-uids")
PREFIX = "coursekit-"          # every cgroup the sandboxes create: coursekit-<owner pid>-<n>
_NAME = re.compile(r"^coursekit-(\d+)-\d+$")
_serial = count()


class QuotaError(RuntimeError):
    """No uid or cgroup could be reserved."""


# ------------------------------------------------------------------------------------ uids

@dataclass
class UidLease:
    """An unprivileged uid that no other process on the host uses while the lease is held."""

    uid: int
    fd: int

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)   # closing drops the flock
            self.fd = -1


def _lease_dir() -> Path:
    """The shared folder of lease files: root's own, or nobody could trust a lock in it."""
    problems = []
    for folder in LEASE_DIRS:
        try:
            folder.mkdir(mode=0o755, exist_ok=True)
            st = folder.lstat()
        except OSError as exc:
            problems.append(f"{folder}: {exc.strerror}")
            continue
        if not os.path.isdir(folder) or os.path.islink(folder):
            problems.append(f"{folder} is not a folder")
        elif st.st_uid != 0 or st.st_mode & 0o022:
            problems.append(f"{folder} is not root's alone (owner {st.st_uid}, mode {st.st_mode & 0o777:o})")
        else:
            return folder
    raise QuotaError("no folder to reserve a uid in: " + "; ".join(problems))


def _uids_in_use() -> set[int]:
    """Every uid (real, effective, saved, filesystem) that a live process runs as."""
    used: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", "rb") as f:
                for line in f:
                    if line.startswith(b"Uid:"):
                        used.update(int(v) for v in line.split()[1:])
                        break
        except (OSError, ValueError):
            continue
    return used


def _account_exists(uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def lease_uid(prefer: int = 0) -> UidLease:
    """Reserve a uid of UID_POOL, starting the search at ``UID_POOL[prefer]`` (so that one
    grader alone gets the uids it always got). Root only."""
    folder = _lease_dir()
    pool = list(UID_POOL)
    start = prefer % len(pool)
    in_use: set[int] | None = None
    for uid in pool[start:] + pool[:start]:
        try:
            fd = os.open(folder / f"{uid}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise QuotaError(f"cannot reserve a uid in {folder}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)       # another sandbox holds it
            continue
        # A process of a crashed grader's sandbox may still be dying, and an account may own the uid.
        if in_use is None:
            in_use = _uids_in_use()
        if uid in in_use or _account_exists(uid):
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())   # for a curious admin; the lock is the lease
        return UidLease(uid, fd)
    raise QuotaError(f"all {len(pool)} sandbox uids ({pool[0]}-{pool[-1]}) are in use on this host")


# ------------------------------------------------------------------------------------ cgroups

def _mounts() -> tuple[tuple[str, str] | None, dict[str, tuple[str, str]]]:
    """(cgroup2 mount point and root, {v1 controller: (mount point, root)}) from mountinfo."""
    v2 = None
    v1: dict[str, tuple[str, str]] = {}
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None, {}
    for line in lines:
        left, _, right = line.partition(" - ")
        f, r = left.split(), right.split()
        if len(f) < 5 or len(r) < 3:
            continue
        root, point = f[3], f[4].replace("\\040", " ")
        if r[0] == "cgroup2" and v2 is None:
            v2 = (point, root)
        elif r[0] == "cgroup":
            for opt in r[2].split(","):
                v1.setdefault(opt, (point, root))
    return v2, v1


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per controller ('' is cgroup v2's)."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, controllers, path = line.split(":", 2)
        for c in controllers.split(",") if controllers else [""]:
            out[c] = path
    return out


def _under(mount: tuple[str, str], path: str) -> Path | None:
    point, root = mount
    if not (path == root or path.startswith(root.rstrip("/") + "/")):
        return None
    return Path(point, path[len(root.rstrip("/")):].lstrip("/"))


@lru_cache(maxsize=1)
def cgroup_support() -> tuple[int, dict[str, Path]] | tuple[None, str]:
    """(version, {controller: folder to create sandbox cgroups in}) or (None, why not).
    Found once per process."""
    v2, v1 = _mounts()
    own = _own_paths()
    why = []
    if v2 is not None and "" in own:
        mine = _under(v2, own[""])
        if mine is not None:
            # Only a cgroup without processes may hand controllers to children ("no internal
            # processes"), so the sandboxes go next to the grader's cgroup - unless it is the
            # hierarchy's real root (no cgroup.type file), which is exempt.
            parent = mine if not (mine / "cgroup.type").exists() else mine.parent
            if not parent.is_relative_to(v2[0]):
                parent = mine   # a cgroup namespace's root (a container): only if it delegates
            try:
                enabled = (parent / "cgroup.subtree_control").read_text().split()
            except OSError:
                enabled = []
            if {"pids", "memory"} <= set(enabled) and os.access(parent, os.W_OK):
                return 2, {"": parent}
            why.append(f"cgroup v2: {parent} does not hand pids and memory to cgroups it may create")
    dirs = {}
    for controller in ("pids", "memory"):
        if controller in v1 and controller in own:
            folder = _under(v1[controller], own[controller])
            if folder is not None and os.access(folder, os.W_OK):
                dirs[controller] = folder
    if len(dirs) == 2:
        return 1, dirs
    why.append("cgroup v1: no writable pids and memory hierarchies" if v1 else "no cgroup v1 hierarchies")
    return None, "; ".join(why)


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


@dataclass
class Cgroup:
    """One sandbox's control group (one folder with cgroup v2, one per controller with v1)."""

    version: int
    dirs: dict[str, Path]
    _procs: list[bytes] = field(default_factory=list, init=False)

    @classmethod
    def create(cls, processes: int, memory: int) -> Cgroup | None:
        """A new cgroup holding at most `processes` tasks (threads count) and `memory` bytes,
        or None when the host does not allow one (cgroup_support() says why)."""
        found = cgroup_support()
        if found[0] is None:
            return None
        version, parents = found
        assert isinstance(parents, dict)
        _sweep(parents)
        name = f"{PREFIX}{os.getpid()}-{next(_serial)}"
        group = cls(version, {c: p / name for c, p in parents.items()})
        try:
            for folder in group.dirs.values():
                folder.mkdir()
            if version == 2:
                base = group.dirs[""]
                _write(base / "pids.max", str(processes))
                _write(base / "memory.max", str(memory))
                if (base / "memory.swap.max").exists():
                    _write(base / "memory.swap.max", "0")
            else:
                _write(group.dirs["pids"] / "pids.max", str(processes))
                mem = group.dirs["memory"]
                _write(mem / "memory.limit_in_bytes", str(memory))
                if (mem / "memory.memsw.limit_in_bytes").exists():   # swap accounting is on
                    _write(mem / "memory.memsw.limit_in_bytes", str(memory))
        except OSError:
            group.remove()
            return None
        group._procs = [str(d / "cgroup.procs").encode() for d in group.dirs.values()]
        return group

    def join(self) -> None:
        """Move the calling process into this cgroup; its children are born in it. Safe between
        fork and exec (subprocess's preexec_fn): plain system calls only."""
        for path in self._procs:
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, b"0")
            finally:
                os.close(fd)

    @property
    def _main(self) -> Path:
        return self.dirs.get("pids") or next(iter(self.dirs.values()))

    def pids(self) -> set[int]:
        """The processes in it (host pids)."""
        try:
            return {int(p) for p in (self._main / "cgroup.procs").read_text().split()}
        except OSError:
            return set()

    def threads(self) -> list[int]:
        """Every thread in it (host thread ids)."""
        try:
            return [int(t) for t in (self._main / ("cgroup.threads" if self.version == 2 else "tasks")).read_text().split()]
        except OSError:
            return []

    def oom_kills(self) -> int:
        """How many of its processes the kernel has killed for going past the memory limit."""
        try:
            if self.version == 2:
                text = (self.dirs[""] / "memory.events").read_text()
            else:
                text = (self.dirs["memory"] / "memory.oom_control").read_text()
        except OSError:
            return 0
        m = re.search(r"^oom_kill (\d+)", text, re.M)
        return int(m.group(1)) if m else 0

    def kill(self, keep: frozenset[int] | set[int] = frozenset(), patience: float = 3.0) -> bool:
        """SIGKILL every process in it but `keep`, until none is left (a fork bomb keeps
        forking while it is killed; pids.max bounds how long that lasts). False if some would
        not die within `patience` seconds."""
        end = time.monotonic() + patience
        while True:
            left = self.pids() - keep
            if not left:
                return True
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
            if time.monotonic() > end:
                return False
            time.sleep(0.002)

    def remove(self) -> None:
        """Kill what is left and delete the cgroup."""
        self.kill()
        for folder in self.dirs.values():
            _rmdir(folder)


def _rmdir(folder: Path) -> None:
    for _ in range(100):   # a killed process leaves its cgroup a moment after it is reaped
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if exc.errno != errno.EBUSY:
                return
            time.sleep(0.01)


def _sweep(parents: dict[str, Path], owner: int | None = None) -> None:
    """Remove the cgroups of sandboxes whose owner process is gone (a grader worker killed at
    its time bound never closes its sandbox), or all of `owner`'s."""
    for controller, parent in parents.items():
        try:
            entries = [e for e in os.listdir(parent) if _NAME.match(e)]
        except OSError:
            continue
        for entry in entries:
            pid = int(_NAME.match(entry).group(1))  # type: ignore[union-attr]
            if pid == os.getpid() or (pid != owner if owner is not None else _alive(pid)):
                continue
            group = Cgroup(1 if controller else 2, {controller: parent / entry})
            group.remove()


def sweep(owner: int) -> None:
    """Remove every cgroup that the sandboxes of process `owner` (a grader worker that has
    ended) left behind, killing whatever still runs in them."""
    found = cgroup_support()
    if found[0] is not None:
        assert isinstance(found[1], dict)
        _sweep(found[1], owner)
