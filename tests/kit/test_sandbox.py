"""The grader's sandbox (coursekit.sandbox): what the code under test can and cannot reach.

Each test runs scenarios (sent as source, like the graded tests do) in one shared sandbox
around a throwaway submission folder. Under `make test` COURSEKIT_REQUIRE_BWRAP=1 is set, so
a machine without a working bubblewrap fails here instead of skipping.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import pytest

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
