"""The grader's sandbox (coursekit.sandbox): what the code under test can and cannot reach.

Each test runs scenarios (sent as source, like the graded tests do) in one shared sandbox
around a throwaway submission folder. Under `make test` COURSEKIT_REQUIRE_BWRAP=1 is set, so
a machine without a working bubblewrap fails here instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from coursekit.quota import UID_POOL, cgroup_support, lease_uid
from coursekit.runner import CallTimeout, ChildDied, Impl, LearnerError
from coursekit.sandbox import Limits, Sandbox, bubblewrap

ROOT = Path(__file__).resolve().parents[2]

if bubblewrap()[0] is None:
    if os.environ.get("COURSEKIT_REQUIRE_BWRAP") == "1":
        raise RuntimeError(f"COURSEKIT_REQUIRE_BWRAP=1 but bubblewrap does not work: {bubblewrap()[1]}")
    pytestmark = pytest.mark.skip(reason=f"bubblewrap does not work here: {bubblewrap()[1]}")


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("submission")
    (folder / "mod").mkdir()
    (folder / "mod" / "thing.py").write_text("VALUE = 42\n")
    os.environ["GRADER_SECRET"] = "do-not-leak"
    with Sandbox(folder, limits=Limits(address_space=512 * 2**20, memory_total=700 * 2**20, processes=64, cpu_seconds=20)) as sandbox:
        yield sandbox, Impl(folder / "mod", "thing", timeout=3, launcher=sandbox.launcher())
    os.environ.pop("GRADER_SECRET", None)


def what_it_sees(module):
    import os
    import socket
    here = os.path.dirname(module.__file__)
    return {
        "value": module.VALUE,
        "root": sorted(os.listdir("/")),
        "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
        "uid": os.getuid(),
        "env": sorted(os.environ),
        "hostname": socket.gethostname(),
        "writable_here": os.access(here, os.W_OK),
    }


def test_the_code_sees_only_its_own_world(box):
    sandbox, impl = box
    seen = impl.run(what_it_sees)
    assert seen["value"] == 42
    assert len(seen["pids"]) <= 3, f"a fresh PID namespace holds only bwrap, the template and the call: {seen['pids']}"
    assert "GRADER_SECRET" not in seen["env"]
    assert seen["hostname"] == "sandbox"
    assert not seen["writable_here"], "the submission's copy is read-only (scratch space is /tmp)"
    if os.getuid() == 0:
        assert seen["uid"] != 0, "as root, the template drops to an unprivileged uid"


def reach_course_files(module, paths):
    import os
    return {p: os.path.exists(p) for p in paths}


def test_the_course_tests_solutions_and_repo_are_not_there(box):
    _, impl = box
    paths = [str(ROOT / "tests"), str(ROOT / "solutions"), str(ROOT / "course.yml"), str(ROOT / "src" / "coursekit" / "grader.py")]
    assert ROOT.joinpath("tests").is_dir()
    assert impl.run(reach_course_files, paths) == {p: False for p in paths}


def connect(module, host):
    import socket
    try:
        socket.create_connection((host, 80), timeout=2).close()
        return "connected"
    except OSError as exc:
        return type(exc).__name__


def loopback_echo(module):
    import socket
    with socket.create_server(("127.0.0.1", 0)) as srv:
        with socket.create_connection(srv.getsockname()) as c:
            conn, _ = srv.accept()
            c.sendall(b"ping")
            return conn.recv(4).decode()


def test_only_loopback_networking(box):
    _, impl = box
    assert impl.run(loopback_echo) == "ping"
    assert impl.run(connect, "192.0.2.1") != "connected"   # TEST-NET-1: never routable


def start_daemon(module):
    """Double-fork a daemon that leaves the call's session and would sleep for an hour."""
    import os
    import time
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            time.sleep(3600)
        os._exit(0)
    os.close(w)
    return int(os.read(r, 32))


def is_running(module, pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_nothing_a_call_started_outlives_it(box):
    sandbox, impl = box
    pid = impl.run(start_daemon)
    assert impl.run(is_running, pid) is False
    template = psutil.Process(sandbox.proc.pid)
    assert len(template.children(recursive=True)) <= 2   # bwrap's init and the template


def fork_bomb(module):
    import os
    made = 0
    for _ in range(10_000):
        try:
            if os.fork() == 0:
                import time
                time.sleep(3600)
            made += 1
        except OSError:
            return made
    return made


def test_a_fork_bomb_hits_the_process_limit_and_is_cleaned_up(box):
    sandbox, impl = box
    made = impl.run(fork_bomb)
    assert made < 64, "RLIMIT_NPROC stops it"
    assert impl.run(what_it_sees)["value"] == 42
    assert len(psutil.Process(sandbox.proc.pid).children(recursive=True)) <= 2


def eat_memory(module):
    hoard = []
    while True:
        hoard.append(" " * 10**7)


def test_unbounded_memory_is_a_memory_error(box):
    _, impl = box
    with pytest.raises(LearnerError, match="MemoryError"):
        impl.run(eat_memory)


def spin(module):
    while True:
        pass


def kill_the_template(module):
    import os
    import signal
    os.kill(os.getppid(), signal.SIGKILL)
    return "done"


def test_a_hang_times_out_and_a_killed_template_is_replaced(box):
    _, impl = box
    with pytest.raises(CallTimeout, match="in spin"):
        impl.run(spin)
    try:
        impl.run(kill_the_template)
    except ChildDied:
        pass
    assert impl.run(what_it_sees)["value"] == 42


def spawn_pool(module):
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        return list(pool.map(abs, [-1, -2, -3]))


def test_multiprocessing_works_inside(box):
    _, impl = box
    assert impl.run(spawn_pool) == [1, 2, 3]


def bump(module):
    module.VALUE += 1
    return module.VALUE


def test_each_call_starts_clean(box):
    _, impl = box
    assert [impl.run(bump), impl.run(bump)] == [43, 43], "a call must not see what the last one changed"


def fill_tmp(module):
    written = 0
    try:
        with open("/tmp/fill", "wb") as f:
            while written < 1 << 30:
                f.write(b"\0" * (1 << 20))
                f.flush()
                written += 1 << 20
    except OSError as exc:
        return [written >> 20, exc.errno]
    return [written >> 20, 0]


def test_scratch_space_is_bounded(box):
    _, impl = box
    mib, errno = impl.run(fill_tmp)
    assert errno != 0 and mib <= 64, f"wrote {mib} MiB to /tmp before an error ({errno})"


def hold_memory_in_children(module):
    import os
    import time
    for _ in range(4):
        if os.fork() == 0:
            block = b"\1" * (250 << 20)   # resident: written
            time.sleep(60 + len(block) * 0)
            os._exit(0)
    time.sleep(60)


def test_memory_is_bounded_for_all_processes_together(box):
    _, impl = box
    with pytest.raises(ChildDied, match="MiB of memory together"):
        impl.run(hold_memory_in_children, timeout=20)


def leave_a_file(module):
    import os
    with open("/tmp/left-behind", "w") as f:
        f.write("x")
    return sorted(os.listdir("/tmp"))


def list_tmp(module):
    import os
    return sorted(os.listdir("/tmp"))


def test_scratch_space_is_emptied_after_each_call(box):
    _, impl = box
    assert "left-behind" in impl.run(leave_a_file)
    assert "left-behind" not in impl.run(list_tmp)


# ---------------------------------------------------------------------------- limits of its own

SHARED_HOST = os.getuid() != 0 and cgroup_support()[0] is None
only_with_own_limits = pytest.mark.skipif(
    SHARED_HOST, reason="not root and no delegated cgroup v2: a sandbox's process budget is its user's")


def bomb_and_hold(module, release):
    """Fork until the process budget is spent; the children sleep until `release` appears."""
    import os
    import time
    kids = 0
    while True:
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            while not os.path.exists(release):
                time.sleep(0.01)
            os._exit(0)
        kids += 1
    end = time.monotonic() + 60
    while not os.path.exists(release) and time.monotonic() < end:
        time.sleep(0.01)
    return kids


def threads_and_processes(module, threads, processes):
    import multiprocessing
    import threading
    done = threading.Event()
    started = [threading.Thread(target=done.wait) for _ in range(threads)]
    for t in started:
        t.start()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=abs, args=(-1,)) for _ in range(processes)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    done.set()
    for t in started:
        t.join()
    return [len(started), sum(p.exitcode == 0 for p in procs)]


def in_sandbox(sandbox: Sandbox) -> int:
    try:
        return len(psutil.Process(sandbox.proc.pid).children(recursive=True))
    except psutil.Error:
        return 0


@only_with_own_limits
def test_a_fork_bomb_in_one_sandbox_spends_no_other_sandboxs_budget(box, tmp_path):
    """Two sandboxes at once (as two graders on one host would have): while one holds every
    process it may have, the other still starts its threads and processes."""
    sandbox, impl = box
    release = sandbox.folder / "mod" / "release"   # the copy is read-only inside, not outside
    release.unlink(missing_ok=True)
    held: list[int] = []
    bomber = threading.Thread(target=lambda: held.append(impl.run(bomb_and_hold, str(release), timeout=60)))
    bomber.start()
    try:
        end = time.monotonic() + 60
        while in_sandbox(sandbox) < 50 and bomber.is_alive() and time.monotonic() < end:
            time.sleep(0.01)
        assert in_sandbox(sandbox) >= 50, "the fork bomb did not get going"
        other = tmp_path / "other"
        (other / "mod").mkdir(parents=True)
        (other / "mod" / "thing.py").write_text("VALUE = 1\n")
        with Sandbox(other, limits=sandbox.limits) as second:
            assert second.uid != sandbox.uid or os.getuid() != 0, "each sandbox leases a uid of its own"
            got = Impl(other / "mod", "thing", timeout=20, launcher=second.launcher()).run(threads_and_processes, 6, 8)
        assert got == [6, 8]
    finally:
        release.write_text("")
        bomber.join(90)
        release.unlink(missing_ok=True)
    assert held and 50 <= held[0] < 64, held
    assert in_sandbox(sandbox) <= 2, "nothing of the bomb outlives its call"


@pytest.mark.skipif(os.getuid() != 0, reason="uids are leased only as root")
def test_a_uid_lease_is_exclusive_and_frees_itself_when_its_holder_dies():
    mine = lease_uid()
    try:
        holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom coursekit.quota import lease_uid\n"
                                   "print(lease_uid().uid, flush=True)\ntime.sleep(120)\n"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            theirs = int(holder.stdout.readline())
            assert theirs != mine.uid, "a held lease is never given out again"
            again = lease_uid(theirs - UID_POOL[0])
            assert again.uid not in (theirs, mine.uid)
            again.release()
        finally:
            holder.kill()      # a crash: it never releases anything
            holder.wait()
            holder.stdout.close()
        after = lease_uid(theirs - UID_POOL[0])
        assert after.uid == theirs, "the dead holder's lease is free again"
        after.release()
    finally:
        mine.release()


@pytest.mark.skipif(cgroup_support()[0] is None, reason=f"no cgroup here: {cgroup_support()[1]}")
def test_the_sandbox_lives_in_a_cgroup_of_its_own_removed_with_it(box, tmp_path):
    sandbox, impl = box
    assert sandbox.cgroup is not None
    members = sandbox.cgroup.pids()
    assert sandbox.proc.pid in members and all(p.pid in members for p in psutil.Process(sandbox.proc.pid).children(recursive=True))
    assert os.getpid() not in members, "the grader itself stays outside"
    folder = tmp_path / "short"
    folder.mkdir()
    with Sandbox(folder, limits=Limits(processes=40, memory_total=300 * 2**20, scratch=16 * 2**20)) as short:
        assert short.cgroup is not None and short.cgroup.dirs != sandbox.cgroup.dirs
        dirs = list(short.cgroup.dirs.values())
        if short.cgroup.version == 2:
            pids, memory = dirs[0] / "pids.max", dirs[0] / "memory.max"
        else:
            pids, memory = short.cgroup.dirs["pids"] / "pids.max", short.cgroup.dirs["memory"] / "memory.limit_in_bytes"
        assert int(pids.read_text()) == 40 + 16
        # the call's memory, both scratch folders (tmpfs pages count) and room for the template
        assert int(memory.read_text()) == (300 + 2 * 16 + 256) * 2**20
    assert not any(d.exists() for d in dirs)
