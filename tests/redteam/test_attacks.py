"""The red team: hostile submissions graded by ``python -m coursekit grade``, as CI runs it.

One module-scoped fixture builds every hostile submission (redteam_attacks.py) from the
current solutions/ into a temporary folder, snapshots the world (hashes of a canary tree, a
fake HOME, the course copy the grader runs from, every input, the real checkout's committed
solutions/ and tests/; the set of processes), runs the grader a few times - one --batch of
all attacks (--jobs 2), the bad inputs, the hostile names, and two small batches for text the
reports must survive - and snapshots again. Each test then checks one property of those runs,
so the suite costs one grading pass, not one per test.

The grader runs against a COPY of the course (COURSE_ROOT and the working directory point at
it): rm -rf payloads aim at that copy, never at the real checkout, which other people may be
editing. The real checkout gets a canary folder and a must-not-appear file under tests/redteam/.

Run: .venv/bin/pytest -q tests/redteam   (about a minute on 2 cores; -rP shows the timings)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import stat
import statistics
import subprocess
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from coursekit.manifest import Course, load_course
from coursekit.runner import WALL_FACTOR

from redteam_attacks import ATTACKS, CONTROLS, LEAN, REPORT_ATTACKS, Attack, fill

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

CALL_TIMEOUT = 3.0            # --timeout: seconds per call
SUBMISSION_TIMEOUT = 120.0    # --submission-timeout
JOBS = 2
# Time bounds are relative to times measured in the same run, so that they hold however busy
# the machine is: an attack may cost ATTACK_FACTOR times a normal submission of its shape
# (payloads do real work: recursion_crash, fork_memory and huge_reply take 4-5 times a control
# on an idle machine), plus HANG_COST for each task whose calls hang. "Normal" is the control's
# time, or the median time of the batch's submissions of that shape if that is more: the
# control is graded once, and other work on the machine comes and goes during a batch. A hung call is
# stopped after CALL_TIMEOUT s of its own running, and at WALL_FACTOR times that on the wall
# clock whatever the load (coursekit.runner); then come the stack dump, kill and restart.
ATTACK_FACTOR = 10
HANG_COST = WALL_FACTOR * CALL_TIMEOUT + 6
BATCH_OVERHEAD = 30.0         # the grader's start-up and its reports, beyond its submissions' own time
RUN_LIMIT = 600.0             # a grader run still going after this is killed and counted a failure
SECRETS = {"GRADER_TOKEN": "rt-grader-token-", "AWS_SECRET_ACCESS_KEY": "rt-aws-secret-",
           "GITHUB_TOKEN": "rt-github-token-"}

pytestmark = pytest.mark.timeout(900)

if not sys.platform.startswith("linux"):
    pytest.skip("the grader's sandbox (bubblewrap) is Linux only", allow_module_level=True)
from coursekit.sandbox import bubblewrap  # noqa: E402

if bubblewrap()[0] is None:
    if os.environ.get("COURSEKIT_REQUIRE_BWRAP") == "1":
        raise RuntimeError(f"COURSEKIT_REQUIRE_BWRAP=1 but bubblewrap does not work: {bubblewrap()[1]}")
    pytest.skip(f"bubblewrap does not work here: {bubblewrap()[1]}", allow_module_level=True)


# ============================================================================ the world

@dataclass
class Result:
    """One submission's results.json, by task id."""

    raw: dict[str, Any]
    tasks: dict[str, dict[str, Any]]
    size: int

    @property
    def score(self) -> float:
        return self.raw["score"]

    def output(self, task_ids: list[str]) -> str:
        return "\n".join(self.tasks[t].get("output", "") for t in task_ids if t in self.tasks)


@dataclass
class Run:
    name: str
    out: Path
    command: list[str]
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    seen: dict[tuple[int, float], str] = field(default_factory=dict)   # every descendant: cmdline
    leftovers: list[str] = field(default_factory=list)   # its processes alive after it exited

    def result(self, name: str) -> Result:
        path = self.out / name / "results.json"
        assert path.is_file(), f"{self.name}: no {path.relative_to(self.out)} (grader exit {self.code}):\n{self.stderr[-2000:]}"
        text = path.read_text("utf-8")
        raw = json.loads(text)
        tasks = {}
        for entry in raw["tests"]:
            tasks[entry["name"].split()[0]] = entry
        return Result(raw, tasks, len(text.encode()))

    def grades(self) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO((self.out / "grades.csv").read_text("utf-8"))))

    def error_lines(self) -> list[str]:
        return [ln for ln in self.stderr.splitlines() if ln.startswith("coursekit grade: error:")]


@dataclass
class World:
    tmp: Path
    course_dir: Path
    course: Course
    values: dict[str, Any]
    runs: dict[str, Run] = field(default_factory=dict)
    before: dict[str, str] = field(default_factory=dict)
    after: dict[str, str] = field(default_factory=dict)
    must_stay_absent: list[Path] = field(default_factory=list)
    absent_before: dict[str, bool] = field(default_factory=dict)
    leftovers: list[str] = field(default_factory=list)
    heard: list[tuple[str, str, bytes]] = field(default_factory=list)
    bad: dict[str, Path] = field(default_factory=dict)
    names: dict[str, Path] = field(default_factory=dict)

    @property
    def task_ids(self) -> list[str]:
        return [t.id for m in self.course.modules for t in m.tasks]

    def tasks_of(self, attack: Attack) -> list[str]:
        """The tasks whose file the attack changes."""
        if not attack.target:
            return []
        module_id, file = attack.target.split("/")
        return [t.id for m in self.course.modules if m.id == module_id for t in m.tasks if t.file == file]

    def lean_tasks(self) -> set[str]:
        """The tasks a LEAN submission carries."""
        return {t.id for m in self.course.modules if m.id in LEAN for t in m.tasks}

    def tasks_with_tests(self) -> set[str]:
        """Tasks that have at least one graded test (lessons still being written may have none)."""
        control = self.runs["attacks"].result("control")
        return {t for t, e in control.tasks.items() if "No test of this task ran" not in e.get("output", "")}


class Listener:
    """A TCP and a UDP socket on every host address: no sandboxed code may reach them."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str, bytes]] = []
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("0.0.0.0", 0))
        self.tcp.listen(64)
        self.tcp.settimeout(0.2)
        self.port = self.tcp.getsockname()[1]
        self.udp: socket.socket | None = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.udp.bind(("0.0.0.0", self.port))
            self.udp.settimeout(0.2)
        except OSError:
            self.udp.close()
            self.udp = None
        self.halt = threading.Event()
        self.threads = [threading.Thread(target=self._tcp, daemon=True)]
        if self.udp:
            self.threads.append(threading.Thread(target=self._udp, daemon=True))
        for t in self.threads:
            t.start()

    def _tcp(self) -> None:
        while not self.halt.is_set():
            try:
                conn, addr = self.tcp.accept()
            except (TimeoutError, OSError):
                continue
            conn.settimeout(1)
            try:
                data = conn.recv(4096)
            except OSError:
                data = b""
            conn.close()
            self.heard.append(("tcp", f"{addr[0]}:{addr[1]}", data[:300]))

    def _udp(self) -> None:
        assert self.udp is not None
        while not self.halt.is_set():
            try:
                data, addr = self.udp.recvfrom(4096)
            except (TimeoutError, OSError):
                continue
            self.heard.append(("udp", f"{addr[0]}:{addr[1]}", data[:300]))

    def close(self) -> None:
        self.halt.set()
        for t in self.threads:
            t.join(2)
        self.tcp.close()
        if self.udp:
            self.udp.close()


class Watcher(threading.Thread):
    """Notes every descendant of the grader (pid, start time, cmdline) while it runs, so that a
    process that later detaches (setsid, double fork) is still known to be the grader's."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.seen: dict[tuple[int, float], str] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.halt.is_set():
            try:
                kids = root.children(recursive=True)
            except psutil.Error:
                return
            for k in kids:
                try:
                    key = (k.pid, k.create_time())
                    if key not in self.seen:
                        self.seen[key] = " ".join(k.cmdline())[:400]
                except psutil.Error:
                    continue
            self.halt.wait(0.05)


def host_ip() -> str:
    for addrs in psutil.net_if_addrs().values():
        for a in addrs:
            if a.family == socket.AF_INET and not a.address.startswith("127."):
                return a.address
    return ""


def digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


def tree_state(roots: dict[str, Path], skip: tuple[str, ...] = ()) -> dict[str, str]:
    """label/relative path -> content hash (or link target, 'dir', 'special'); 'absent' for a
    missing root. Never opens anything but regular files."""
    state: dict[str, str] = {}
    for label, root in roots.items():
        if root.is_symlink():
            state[label] = "link:" + os.readlink(root)
            continue
        if not root.exists():
            state[label] = "absent"
            continue
        if root.is_file():
            state[label] = digest(root)
            continue
        state[label] = "dir"
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in skip)
            for name in dirnames + sorted(filenames):
                path = Path(dirpath) / name
                rel = f"{label}/{path.relative_to(root)}"
                try:
                    mode = path.lstat().st_mode
                except OSError:
                    continue
                if stat.S_ISLNK(mode):
                    state[rel] = "link:" + os.readlink(path)
                elif stat.S_ISREG(mode):
                    state[rel] = digest(path)
                elif stat.S_ISDIR(mode):
                    state[rel] = "dir"
                else:
                    state[rel] = "special"
    return state


def committed(folder: str) -> list[Path]:
    """The real checkout's committed files under `folder` (none if git is not there)."""
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", folder], capture_output=True,
                             check=True, timeout=30).stdout.decode()
    except (OSError, subprocess.SubprocessError):
        return []
    return [ROOT / p for p in out.split("\0") if p and not p.startswith("tests/redteam/")]


# ============================================================================ building inputs

def copy_course(dest: Path) -> Path:
    dest.mkdir()
    for name in ("course.yml", "pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache", "kit", "redteam", ".ipynb_checkpoints")
    for name in ("solutions", "exercises", "tests"):
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    from coursekit.bundle import TEST_FIXTURES      # lesson files the graded tests read as source
    for name in TEST_FIXTURES:
        ((dest) / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, dest / name)
    return dest


def copy_solutions(course_dir: Path, dest: Path, lasting: bool = False) -> Path:
    """solutions/ as a submission: every module, or only the LEAN ones."""
    ignore = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")
    if lasting:
        shutil.copytree(course_dir / "solutions", dest, ignore=ignore)
    else:
        dest.mkdir()
        for module in LEAN:
            shutil.copytree(course_dir / "solutions" / module, dest / module, ignore=ignore)
    return dest


def build_submission(attack: Attack, course_dir: Path, dest: Path, values: dict[str, Any]) -> None:
    copy_solutions(course_dir, dest, attack.lasting)
    mine = {**values, "NAME": attack.name, "TAG": attack.tag, "TARGET": attack.target}
    if attack.target:
        path = dest / attack.target
        base_root = course_dir / ("exercises" if attack.base == "stub" else "solutions")
        base = (base_root / attack.target).read_text("utf-8")
        if attack.how == "delete":
            path.unlink()
        elif attack.how == "replace":
            code = attack.code
            path.write_bytes(code if isinstance(code, bytes) else fill(code, mine).encode())
        elif attack.how == "prepend":
            path.write_text(fill(str(attack.code), mine) + "\n\n" + base, "utf-8")
        elif attack.how == "append":
            path.write_text(base.rstrip("\n") + "\n\n\n" + fill(str(attack.code), mine), "utf-8")
        elif attack.how == "none":
            path.write_text(base, "utf-8")
        else:
            raise ValueError(f"{attack.name}: unknown change {attack.how!r}")
    for rel, text in attack.files:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, "utf-8")


def zip_folder(src: Path, dest: Path, *, skip: tuple[str, ...] = (), extra: tuple[tuple[zipfile.ZipInfo | str, bytes], ...] = ()) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(src.rglob("*")):
            rel = path.relative_to(src).as_posix()
            if path.is_file() and rel not in skip and "__pycache__" not in rel:
                zf.write(path, rel)
        for info, data in extra:
            zf.writestr(info, data)
    return dest


def build_bad_inputs(world: World, folder: Path) -> dict[str, Path]:
    """The inputs that must be refused (name -> path); 'good' and 'fifo' are usable."""
    folder.mkdir()
    sol = copy_solutions(world.course_dir, world.tmp / "lean")
    u = world.values["UUID"]
    good = folder / "good"
    shutil.copytree(sol, good)
    bad: dict[str, Path] = {"good": good}

    corrupt = folder / "corrupt.zip"
    corrupt.write_bytes(b"PK\x03\x04" + bytes((i * 37 + 11) % 256 for i in range(4000)))
    bad["corrupt"] = corrupt

    bad["zipslip"] = zip_folder(sol, folder / "zipslip.zip", extra=(
        ("../" * 12 + f"tmp/rt-zipslip-{u}.py", b"print('escaped')\n"),
        (f"00_start_here/../../rt-zipslip2-{u}.py", b"print('escaped')\n")))
    bad["zipabs"] = zip_folder(sol, folder / "zipabs.zip", extra=(
        (zipfile.ZipInfo(f"/tmp/rt-zipabs-{u}/evil.py"), b"print('escaped')\n"),))
    link = zipfile.ZipInfo("00_start_here/warmup.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    bad["zipsymlink"] = zip_folder(sol, folder / "zipsymlink.zip", skip=("00_start_here/warmup.py",),
                                   extra=((link, str(world.values["CANARY"] + "/secret_warmup.py").encode()),))

    bomb = folder / "zipbomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(sol.rglob("*.py")):
            zf.write(path, path.relative_to(sol).as_posix())
        with zf.open("00_start_here/padding.py", "w", force_zip64=True) as f:
            block = b"#" * (1 << 20)
            for _ in range(1024):           # 1 GiB unpacked, about 5 MB packed
                f.write(block)
    bad["zipbomb"] = bomb

    # a member that says it is 1000 bytes but inflates to 200 MiB
    lie = folder / "ziplie.zip"
    with zipfile.ZipFile(lie, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for path in sorted(sol.rglob("*.py")):
            zf.write(path, path.relative_to(sol).as_posix())
        with zf.open("00_start_here/padding.py", "w") as f:
            block = b"#" * (1 << 20)
            for _ in range(200):
                f.write(block)
    data = bytearray(lie.read_bytes())
    name = b"00_start_here/padding.py"
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:
        n = int.from_bytes(data[at + 28:at + 30], "little")
        if bytes(data[at + 46:at + 46 + n]) == name:
            data[at + 24:at + 28] = (1000).to_bytes(4, "little")   # uncompressed size
        at += 4
    lie.write_bytes(bytes(data))
    bad["ziplie"] = lie

    symlinked = folder / "symlinked"
    shutil.copytree(sol, symlinked)
    (symlinked / "00_start_here" / "warmup.py").unlink()
    (symlinked / "00_start_here" / "warmup.py").symlink_to(Path(world.values["CANARY"]) / "secret_warmup.py")
    bad["symlinked"] = symlinked

    symloop = folder / "symloop"
    shutil.copytree(sol, symloop)
    (symloop / "00_start_here" / "loop").symlink_to("loop")
    bad["symloop"] = symloop

    wrong = folder / "wrong_layout"
    wrong.mkdir()
    for path in sol.rglob("*.py"):
        shutil.copy(path, wrong / path.name)
    bad["wrong_layout"] = wrong

    linked = folder / "linked"
    linked.symlink_to(good)
    bad["linked"] = linked

    fifo = folder / "fifo"
    shutil.copytree(sol, fifo)
    (fifo / "00_start_here" / "warmup.py").unlink()
    os.mkfifo(fifo / "00_start_here" / "warmup.py")
    bad["fifo"] = fifo

    bad["does-not-exist"] = folder / "does-not-exist"
    return bad


def build_names(world: World, folder: Path) -> dict[str, Path]:
    """Batch entries whose names collide with the grader's own files or with each other, or
    would be formulas in a spreadsheet."""
    folder.mkdir()
    sol = world.tmp / "lean"
    entries: dict[str, Path] = {}
    for name in ("grades.csv", "dup", "dup-2", "+SUM(1+1)", "@cmd", "-2+3"):
        shutil.copytree(sol, folder / name)
        entries[name] = folder / name
    entries["junit.xml.zip"] = zip_folder(sol, folder / "junit.xml.zip")
    entries["dup.zip"] = zip_folder(sol, folder / "dup.zip")
    return entries


HIDDEN_TEST = '''
"""Instructor-only test (red team). HIDDEN-SOURCE-{u}"""
import pytest


@pytest.mark.task("00.1")
def test_hidden_split_of_seven(exercise):
    """HIDDEN-NAME-{u} seven jobs for two workers"""
    got = exercise("warmup").call("split_evenly", ["HIDDEN-ARG-{u}", *range(6)], 2)
    assert got == [["HIDDEN-ARG-{u}", 0, 1, 2], [3, 4, 5]], "HIDDEN-REASON-{u} got %r" % (got,)
'''


# ============================================================================ running the grader

def grade(world: World, name: str, inputs: list[str], extra: list[str], env: dict[str, str],
          before: set[tuple[int, float]]) -> Run:
    out = world.tmp / f"out-{name}"
    command = [sys.executable, "-m", "coursekit", "grade", *inputs, "--out", str(out),
               "--timeout", f"{CALL_TIMEOUT:g}", "--submission-timeout", f"{SUBMISSION_TIMEOUT:g}",
               "--jobs", str(JOBS), *extra]
    run = Run(name, out, command)
    start = time.monotonic()
    proc = subprocess.Popen(command, cwd=world.course_dir, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    watcher = Watcher(proc.pid)
    watcher.start()
    try:
        stdout, stderr = proc.communicate(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)     # the grader we started, and its process group
        stdout, stderr = proc.communicate()
        stderr += f"\n[red team] the grader did not finish within {RUN_LIMIT:g} s and was killed".encode()
    run.seconds = time.monotonic() - start
    watcher.halt.set()
    watcher.join(2)
    run.code = proc.returncode
    run.stdout = stdout.decode("utf-8", "replace")
    run.stderr = stderr.decode("utf-8", "replace")
    run.seen = watcher.seen
    world.runs[name] = run
    # right away: a worker orphaned by a crashed grader would be gone by the end of the suite
    markers = [str(world.tmp)] + sorted({m for cmd in run.seen.values()
                                         for m in re.findall(r"/\S*coursekit-grade-[^/\s]+", cmd)})
    deadline = time.monotonic() + 3
    while (left := find_leftovers(before, [run], markers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    run.leftovers = [describe(p) for p in left]
    return run


def find_leftovers(before: set[tuple[int, float]], runs: list[Run], markers: list[str]) -> list[psutil.Process]:
    """Processes that did not exist before and belong to a grader run: seen as its descendants,
    named by a payload (rt-...), or naming one of our folders on their command line."""
    seen = {key for r in runs for key in r.seen}
    me = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for p in psutil.process_iter(["pid", "name", "cmdline", "create_time", "status"]):
        info = p.info
        key = (info["pid"], info["create_time"])
        if info["pid"] in me or key in before or info["status"] == psutil.STATUS_ZOMBIE:
            continue
        cmd = " ".join(info["cmdline"] or [])
        if key in seen or (info["name"] or "").startswith("rt-") or any(m in cmd for m in markers):
            found.append(p)
    return found


def describe(p: psutil.Process) -> str:
    try:
        return f"pid {p.pid} {p.name()!r} ({p.status()}): {' '.join(p.cmdline())[:200]}"
    except psutil.Error:
        return f"pid {p.pid} (gone)"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("redteam")
    u = uuid.uuid4().hex[:12]
    course_dir = copy_course(tmp / "course")
    course = load_course(course_dir)

    canary = tmp / "canary"
    (canary / "deep" / "er").mkdir(parents=True)
    (canary / "secret_warmup.py").write_text(
        f"# CANARY-SECRET-{u}\n" + (course_dir / "solutions" / "00_start_here" / "warmup.py").read_text("utf-8"))
    (canary / "notes.txt").write_text(f"CANARY-SECRET-{u}\n")
    (canary / "deep" / "er" / "file.bin").write_bytes(bytes(range(256)))
    home = tmp / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".bashrc").write_text("# fake home of the grader\n")
    (home / ".ssh" / "id_rsa").write_text(f"-----FAKE KEY {u}-----\n")
    repo_canary = HERE / f".canary-{u}"
    repo_canary.mkdir()
    (repo_canary / "canary.txt").write_text(f"CANARY-SECRET-{u}\n")
    repo_pwned = HERE / f".pwned-{u}"
    extra = tmp / "instructor"
    extra.mkdir()
    (extra / "test_00_start_here_hidden.py").write_text(HIDDEN_TEST.format(u=u))
    listener = Listener()

    batch = tmp / "batch-attacks"
    values: dict[str, Any] = {
        "UUID": u, "OUT": str(tmp / "out-attacks"), "BATCH": str(batch), "COURSE": str(course_dir),
        "REPO": str(ROOT), "REPO_SCRATCH": str(HERE), "REPO_CANARY": str(repo_canary),
        "REPO_PWNED": str(repo_pwned), "CANARY": str(canary), "HOME": str(home), "EXTRA": str(extra),
        "HOST_IP": host_ip(), "PORT": listener.port,
    }
    world = World(tmp, course_dir, course, values)
    batch.mkdir()
    for attack in ATTACKS:
        build_submission(attack, course_dir, batch / attack.name, values)
    report_batches = {}
    for attack in REPORT_ATTACKS:
        folder = tmp / f"batch-{attack.name}"
        folder.mkdir()
        build_submission(ATTACKS[1], course_dir, folder / "control_lean", values)
        build_submission(attack, course_dir, folder / attack.name, values)
        report_batches[attack.name] = folder
    world.bad = build_bad_inputs(world, tmp / "bad")
    world.names = build_names(world, tmp / "batch-names")

    roots = {"canary": canary, "home": home, "course copy": course_dir, "instructor tests": extra,
             "attack inputs": batch, "bad inputs": tmp / "bad", "name inputs": tmp / "batch-names",
             **{f"inputs {k}": v for k, v in report_batches.items()},
             "repo canary": repo_canary, "repo pwned": repo_pwned}
    roots.update({f"repo {p.relative_to(ROOT)}": p for p in committed("solutions") + committed("tests")})
    world.must_stay_absent = [Path("/autograder/results/results.json"), Path(f"/tmp/rt-zipslip-{u}.py"),
                              Path(f"/tmp/rt-zipabs-{u}"), tmp / f"rt-zipslip2-{u}.py"]
    world.absent_before = {str(p): not p.exists() for p in world.must_stay_absent}
    skip = ("__pycache__", ".pytest_cache")
    world.before = tree_state(roots, skip)
    procs_before = {(p.pid, p.info["create_time"]) for p in psutil.process_iter(["create_time"])}

    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env.update({k: v + u for k, v in SECRETS.items()})
    env.update({"HOME": str(home), "COURSE_ROOT": str(course_dir)})
    try:
        grade(world, "attacks", [], ["--batch", str(batch), "--junit", "--tests", str(extra)], env, procs_before)
        for name, folder in report_batches.items():
            grade(world, name, [], ["--batch", str(folder), "--junit"], env, procs_before)
        grade(world, "bad", [str(p) for p in world.bad.values()], [], env, procs_before)
        grade(world, "names", [], ["--batch", str(tmp / "batch-names"), "--junit"], env, procs_before)
        world.leftovers = [f"after the {r.name} run: {p}" for r in world.runs.values() for p in r.leftovers]
        time.sleep(0.3)    # let a late packet arrive
        world.heard = list(listener.heard)
        world.after = tree_state(roots, skip)
        yield world
    finally:
        listener.close()
        for p in find_leftovers(procs_before, list(world.runs.values()), [str(tmp)]):
            try:
                p.kill()          # only processes our grader runs started
            except psutil.Error:
                pass
        shutil.rmtree(repo_canary, ignore_errors=True)
        if repo_pwned.is_dir():
            shutil.rmtree(repo_pwned, ignore_errors=True)
        elif repo_pwned.exists():
            repo_pwned.unlink()


# ============================================================================ checks of probe reports

PROBE = re.compile(r"redteam-probe (\{.*?\}) end-probe")


def probe_report(output: str) -> dict[str, Any] | None:
    m = PROBE.search(output)
    return json.loads(m.group(1)) if m else None


def check_visibility(r: dict[str, Any], world: World) -> list[str]:
    out = []
    if r["visible"]:
        out.append(f"paths outside the submission are visible: {r['visible']}")
    if r["relative"]:
        out.append(f"relative paths reach outside: {r['relative']}")
    if r["found"]:
        out.append(f"graded files found by walking /: {r['found'][:20]}")
    if not r["walk_complete"]:
        out.append("the walk of / did not finish in 1 s: the sandbox's filesystem is larger than it should be")
    return out


def check_secrets(r: dict[str, Any], world: World) -> list[str]:
    text = json.dumps(r)
    leaked = [k for k, v in SECRETS.items() if (v + world.values["UUID"]) in text or k in r["env_names"]]
    return [f"secrets reached the code under test: {leaked}; it saw {r['found']}"] if leaked else []


def check_sandbox(r: dict[str, Any], world: World) -> list[str]:
    out = []
    unlimited = [k for k in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE")
                 if r["limits"].get(k) is None]
    if unlimited:
        out.append(f"no limit on {unlimited}")
    if len(r["pids"]) > 5:
        out.append(f"it sees {len(r['pids'])} processes: no PID namespace of its own?")
    if r["interfaces"] != ["lo"]:
        out.append(f"network interfaces {r['interfaces']} (only lo expected)")
    if r["uid"] == 0 or r["euid"] == 0:
        out.append("it runs as root (RLIMIT_NPROC does not apply to root)")
    odd = {fd: t for fd, t in r["fds"].items()
           if not (t.startswith(("pipe:", "socket:", "anon_inode:")) or t == "/dev/null" or t.startswith("/proc/"))}
    if odd:
        out.append(f"it inherited file descriptors on files: {odd}")
    return out


def check_writable(r: dict[str, Any], world: World) -> list[str]:
    bad = {k: v for k, v in r.items() if not k.startswith("own /tmp") and not v.startswith("refused")}
    return [f"it could write outside its copy: {sorted(bad)}"] if bad else []


def check_siblings(r: dict[str, Any], world: World) -> list[str]:
    return [f"it changed other submissions: {r['tampered']}"] if r["tampered"] else []


def check_fork_bomb(r: dict[str, Any], world: World) -> list[str]:
    if r["forks"] >= r["cap"] or r["stopped_by"].startswith("cap reached"):
        return [f"{r['forks']} forks and nothing stopped it (the red team's own cap of {r['cap']} did)"]
    return []


def check_memory_hog(r: dict[str, Any], world: World) -> list[str]:
    if r["stopped_by"] != "MemoryError":
        return [f"it held {r['allocated_mib']} MiB and nothing stopped it (the red team's cap did)"]
    return []


def check_fork_memory(r: dict[str, Any], world: World) -> list[str]:
    limit = r["rlimit_as_mib"]
    if limit is None or r["total_mib"] > limit:
        return [f"{r['children']} processes held {r['total_mib']} MiB at once ({r['held_mib_each']} MiB each): "
                f"the submission's memory is bounded per process only (RLIMIT_AS {limit} MiB), not in total"]
    return []


def check_file_size_bomb(r: dict[str, Any], world: World) -> list[str]:
    if r["stopped_by"].startswith("cap reached"):
        return [f"one file grew to {r['written_mib']} MiB and nothing stopped it"]
    return []


def check_disk_fill(r: dict[str, Any], world: World) -> list[str]:
    return [f"{where}: {v['written_mib']} MiB written in files under the size limit and nothing stopped it "
            f"(the red team's cap of {r['cap_mib']} MiB did)"
            for where, v in r.items() if isinstance(v, dict) and v["stopped_by"].startswith("cap reached")]


PROBES = {"visibility": check_visibility, "secrets": check_secrets, "sandbox": check_sandbox,
          "writable": check_writable, "siblings": check_siblings, "fork_bomb": check_fork_bomb,
          "memory_hog": check_memory_hog, "fork_memory": check_fork_memory,
          "file_size_bomb": check_file_size_bomb, "disk_fill": check_disk_fill}


# ============================================================================ the attack batch

def normal_seconds(world: World, lasting: bool) -> float:
    """A normal submission of that shape, in this run: its control's time, or the median of
    all of that shape's (most attacks cost no more than the control) if that is more."""
    run = world.runs["attacks"]
    control = run.result("control" if lasting else "control_lean").raw["execution_time"]
    same = [run.result(a.name).raw["execution_time"] for a in ATTACKS if a.lasting == lasting]
    return max(control, statistics.median(same))


def bound_of(attack: Attack, world: World) -> float:
    hangs = len(world.tasks_of(attack)) if attack.hang else 0
    return ATTACK_FACTOR * normal_seconds(world, attack.lasting) + HANG_COST * hangs


def batch_bound(world: World) -> float:
    """The batch's submissions, as timed in this run, shared among the jobs: no schedule that
    keeps every job busy while work is left takes longer (list scheduling, Graham 1969), so
    the batch is bounded by its own parts however busy the machine is."""
    run = world.runs["attacks"]
    seconds = [run.result(a.name).raw["execution_time"] for a in ATTACKS]
    return sum(seconds) / JOBS + max(seconds) + BATCH_OVERHEAD


def test_the_attack_batch_completes_in_bounded_time(world: World):
    run = world.runs["attacks"]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.code == 0, f"grade exited {run.code}:\n{run.stderr[-3000:]}"
    assert not run.error_lines(), run.error_lines()
    assert run.seconds <= batch_bound(world), f"the batch took {run.seconds:.1f} s (bound {batch_bound(world):.0f} s)"


@pytest.mark.parametrize("name", CONTROLS)
def test_the_control_earns_every_point(world: World, name: str):
    control = world.runs["attacks"].result(name)
    carried = world.tasks_with_tests() & (world.lean_tasks() if name == "control_lean" else set(world.task_ids))
    lost = {t: (e["score"], e["max_score"], e["output"][:300]) for t, e in control.tasks.items()
            if t in carried and e["score"] != e["max_score"]}
    assert not lost, f"the unchanged solutions lost points: {lost}"
    assert control.raw["extra_data"].get("sandboxed") is True, "the control was not graded in bubblewrap"


def test_every_submission_has_its_reports(world: World):
    run = world.runs["attacks"]
    rows = {row["submission"]: row for row in run.grades()}
    header = list(run.grades()[0].keys()) if rows else []
    assert header == ["submission", *world.task_ids, "total", "max_total", "error"], header
    for attack in ATTACKS:
        result = run.result(attack.name)
        assert (run.out / attack.name / "feedback.md").is_file(), attack.name
        row = rows.get(attack.name)
        assert row is not None, f"{attack.name}: no row in grades.csv"
        for task in world.task_ids:
            assert float(row[task]) == result.tasks[task]["score"], (attack.name, task, row[task])
        assert float(row["total"]) == result.score, (attack.name, row["total"], result.score)
    ET.parse(run.out / "junit.xml")


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a.name not in CONTROLS], ids=lambda a: a.name)
def test_attack(world: World, attack: Attack):
    run = world.runs["attacks"]
    got = run.result(attack.name)
    control = run.result("control" if attack.lasting else "control_lean")
    attacked = world.tasks_of(attack)
    seconds = got.raw["execution_time"]
    problems = []
    for task in world.task_ids:
        g, c = got.tasks[task], control.tasks[task]
        if task not in attacked:
            if g["score"] != c["score"]:
                problems.append(f"{task} (not attacked) scored {g['score']}, the control {c['score']}: {g['output'][:600]}")
            continue
        if attack.expect == "zero" and g["score"] != 0:
            problems.append(f"{task} (attacked) scored {g['score']} of {g['max_score']}; expected 0")
        elif attack.expect == "full" and g["score"] != g["max_score"]:
            problems.append(f"{task} (attacked, otherwise correct) scored {g['score']} of {g['max_score']}: {g['output'][:600]}")
        elif attack.expect == "less" and g["score"] >= g["max_score"]:
            problems.append(f"{task} (attacked: wrong code forging its reply) got full marks, {g['score']} of {g['max_score']}")
    output = got.output(attacked)
    if attack.output and not re.search(attack.output, output):
        problems.append(f"the output of {attacked} does not match {attack.output!r}: {output[:800]}")
    if attack.probe:
        report = probe_report(output)
        if report is None:
            killed = ((attack.probe == "memory_hog" and re.search(r"killed by|MemoryError", output))
                      or (attack.probe == "fork_memory" and re.search(r"MiB of memory together", output)))
            if not killed:
                problems.append(f"no probe report in the output of {attacked}: {output[:800]}")
        else:
            problems += PROBES[attack.probe](report, world)
    if seconds > bound_of(attack, world):
        problems.append(f"grading took {seconds:.1f} s (bound {bound_of(attack, world):.0f} s)")
    if got.size > 1 << 20:
        problems.append(f"results.json is {got.size} bytes")
    mine = [p for p in world.leftovers if f"'{attack.tag}'" in p]
    if mine:
        problems.append(f"its processes outlived the grader: {mine}")
    assert not problems, f"{attack.name} ({seconds:.2f} s): " + "\n".join(problems)


def test_nothing_outside_the_out_dir_changed(world: World):
    changed = sorted(k for k in world.before.keys() | world.after.keys() if world.before.get(k) != world.after.get(k))
    detail = [f"{k}: {world.before.get(k, 'absent')} -> {world.after.get(k, 'absent')}" for k in changed[:40]]
    assert not changed, f"{len(changed)} paths outside the out dirs changed:\n" + "\n".join(detail)
    appeared = [p for p, was_absent in world.absent_before.items() if was_absent and Path(p).exists()]
    assert not appeared, f"files appeared outside the out dirs: {appeared}"


def test_no_process_outlives_the_grader(world: World):
    assert not world.leftovers, "still running after the grader exited:\n" + "\n".join(world.leftovers)


def test_the_host_network_heard_nothing(world: World):
    assert not world.heard, f"the sandboxed code reached the host: {world.heard}"


def test_no_secret_and_no_forgery_reaches_a_report(world: World):
    u = world.values["UUID"]
    needles = [v + u for v in SECRETS.values()] + [f"FAKE-RESULTS-{u}", f"FAKE-DAEMON-{u}", f"CANARY-SECRET-{u}",
                                                   f"HIDDEN-SOURCE-{u}", f"HIDDEN-NAME-{u}", f"HIDDEN-REASON-{u}",
                                                   f"HIDDEN-ARG-{u}"]
    hits = []
    for run in world.runs.values():
        for path in run.out.rglob("*") if run.out.exists() else []:
            if path.is_file():
                text = path.read_bytes().decode("utf-8", "replace")
                hits += [f"{path.relative_to(world.tmp)}: {n}" for n in needles if n in text]
    assert not hits, "\n".join(hits)


def test_timings(world: World):
    """Not a check: the measured time of every run and attack (shown with -rP)."""
    lines = [f"{r.name:<16} exit {r.code}  {r.seconds:6.1f} s  ({len(r.seen)} descendants seen)"
             for r in world.runs.values()]
    lines.append(f"paths hashed before and after: {len(world.before)}; batch bound {batch_bound(world):.0f} s")
    run = world.runs["attacks"]
    for attack in ATTACKS:
        try:
            res = run.result(attack.name)
        except AssertionError:
            lines.append(f"  {attack.name:<28} no results.json")
            continue
        bound = "" if attack.name in CONTROLS else f" (bound {bound_of(attack, world):5.1f} s)"
        lines.append(f"  {attack.name:<28} {res.raw['execution_time']:6.2f} s{bound}  score {res.score:g}")
    print("\n".join(lines))


# ============================================================================ reports survive hostile text

@pytest.mark.parametrize("attack", REPORT_ATTACKS, ids=lambda a: a.name)
def test_reports_survive_hostile_text(world: World, attack: Attack):
    run = world.runs[attack.name]
    assert "Traceback" not in run.stderr and run.code == 0, \
        f"grade exited {run.code} on {attack.tries}:\n{run.stderr[-2500:]}"
    control, got = run.result("control_lean"), run.result(attack.name)
    for task in world.task_ids:
        assert control.tasks[task]["score"] == world.runs["attacks"].result("control_lean").tasks[task]["score"], task
    for task in world.tasks_of(attack):
        assert got.tasks[task]["score"] == 0, (task, got.tasks[task])
    (run.out / attack.name / "feedback.md").read_text("utf-8")
    json.loads((run.out / "grades.csv").parent.joinpath(attack.name, "results.json").read_text("utf-8"))
    try:
        ET.parse(run.out / "junit.xml")
    except ET.ParseError as exc:
        raw = (run.out / "junit.xml").read_bytes()
        bad = sorted({f"0x{b:02x}" for b in raw if b < 0x20 and b not in (0x09, 0x0A, 0x0D)})
        pytest.fail(f"junit.xml is not well-formed XML ({exc}); control bytes in it: {bad}")


# ============================================================================ bad inputs

UNUSABLE = ("corrupt", "zipslip", "zipabs", "zipsymlink", "zipbomb", "ziplie", "symlinked", "symloop",
            "wrong_layout", "linked", "does-not-exist")
ERROR_LINE = re.compile(r"^coursekit grade: error: (?P<name>.+?): (?P<problem>\S.*)$")


def error_for(run: Run, name: str) -> list[str]:
    return [ln for ln in run.error_lines()
            if (m := ERROR_LINE.match(ln)) and (m["name"] == name or m["name"].endswith("/" + name)
                                                 or m["name"].endswith("/" + name + ".zip"))]


def test_bad_inputs_exit_2_with_one_line_each(world: World):
    run = world.runs["bad"]
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert run.code == 2, f"exit {run.code}:\n{run.stderr[-2000:]}"
    problems = [f"{name}: {len(error_for(run, name))} error lines" for name in UNUSABLE if len(error_for(run, name)) != 1]
    stray = [ln for ln in run.stderr.splitlines() if ln.strip() and not ERROR_LINE.match(ln)]
    assert not problems and not stray, "\n".join(problems + [f"not an error line: {ln!r}" for ln in stray]) + \
        f"\nstderr:\n{run.stderr}"
    assert len(run.error_lines()) == len(UNUSABLE), run.error_lines()


def test_the_good_input_among_bad_ones_is_still_graded(world: World):
    good = world.runs["bad"].result("good")
    lost = {t: good.tasks[t]["score"] for t in world.tasks_with_tests() & world.lean_tasks()
            if good.tasks[t]["score"] != good.tasks[t]["max_score"]}
    assert not lost, f"the good submission lost points next to the bad ones: {lost}"


@pytest.mark.parametrize("name", [n for n in UNUSABLE if n != "does-not-exist"])
def test_an_unusable_input_gets_a_zero_report_with_the_problem(world: World, name: str):
    run = world.runs["bad"]
    res = run.result(name)
    assert res.score == 0, res.raw
    assert res.raw["output"].strip() and "0 of" in res.raw["output"], res.raw["output"]
    row = next(r for r in run.grades() if r["submission"] == name)
    assert row["error"].strip(), row


def test_a_missing_path_also_gets_a_zero_report(world: World):
    """The contract: every unusable input, a path that does not exist included, gets a
    results.json with score 0 and the problem in its output."""
    run = world.runs["bad"]
    res = run.result("does-not-exist")
    assert res.score == 0 and "no such" in res.raw["output"].lower(), res.raw


def test_a_fifo_in_a_submission_neither_hangs_nor_counts(world: World):
    run = world.runs["bad"]
    if error_for(run, "fifo"):
        return   # refusing it is fine too
    res = run.result("fifo")
    assert res.tasks["00.1"]["score"] == 0, res.tasks["00.1"]
    normal = max(run.result("good").raw["execution_time"], normal_seconds(world, lasting=False))
    assert res.raw["execution_time"] < ATTACK_FACTOR * normal + HANG_COST, (res.raw["execution_time"], normal)


def test_links_and_archives_never_reach_outside(world: World):
    run = world.runs["bad"]
    u = world.values["UUID"]
    for name in ("symlinked", "zipsymlink"):
        if (run.out / name / "results.json").exists():
            assert run.result(name).tasks["00.1"]["score"] == 0, f"{name}: the link to the canary was followed"
    escaped = [str(p) for p in (Path(f"/tmp/rt-zipslip-{u}.py"), Path(f"/tmp/rt-zipabs-{u}"),
                                world.tmp / f"rt-zipslip2-{u}.py", world.course_dir / f"rt-zipslip2-{u}.py")
               if p.exists()]
    escaped += [str(p) for p in world.tmp.rglob(f"*{u}*") if "rt-zipslip" in p.name or "rt-zipabs" in p.name]
    assert not escaped, f"zip entries were written outside: {escaped}"


# ============================================================================ hostile names

def test_names_that_collide_with_the_reports(world: World):
    """Batch entries named grades.csv/ and junit.xml.zip must not break (or replace) the reports."""
    run = world.runs["names"]
    assert "Traceback" not in run.stderr and run.code in (0, 2), f"exit {run.code}:\n{run.stderr[-2500:]}"
    assert (run.out / "grades.csv").is_file(), "grades.csv is not a file"
    assert (run.out / "junit.xml").is_file(), "junit.xml is not a file"
    ET.parse(run.out / "junit.xml")
    rows = run.grades()
    assert len(rows) + len(run.error_lines()) >= len(world.names), (len(rows), run.error_lines())


def test_duplicate_names_get_separate_reports(world: World):
    """dup/, dup-2/ and dup.zip: three submissions, three rows, three results.json."""
    run = world.runs["names"]
    assert (run.out / "grades.csv").is_file(), f"no grades.csv (exit {run.code}):\n{run.stderr[-1500:]}"
    names = [r["submission"] for r in run.grades()]
    dups = [n for n in names if n.startswith("dup")]
    assert len(names) == len(set(names)), f"grades.csv has repeated names: {names}"
    assert len(dups) == 3, f"three dup submissions became {dups}"


def test_names_are_not_spreadsheet_formulas(world: World):
    run = world.runs["names"]
    assert (run.out / "grades.csv").is_file(), f"no grades.csv (exit {run.code}):\n{run.stderr[-1500:]}"
    formulas = [r["submission"] for r in run.grades() if r["submission"][:1] in ("=", "+", "-", "@")]
    assert not formulas, f"grades.csv cells a spreadsheet runs as formulas: {formulas}"


def test_the_readme_lists_every_attack():
    readme = (HERE / "README.md").read_text("utf-8")
    missing = [a.name for a in ATTACKS + REPORT_ATTACKS if f"`{a.name}`" not in readme]
    missing += [n for n in UNUSABLE if f"`{n}`" not in readme]
    assert not missing, f"tests/redteam/README.md does not list: {missing}"
