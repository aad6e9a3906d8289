"""The runner's guarantees: plain data only, bounded calls, useful messages, nothing left behind."""

import os
import subprocess
import sys
import time
import uuid

import psutil
import pytest

from coursekit.runner import WALL_FACTOR, CallFailed, CallTimeout, ChildDied, LearnerError, NotImplementedYet


def leftovers(token: str) -> list[str]:
    """Processes on this machine whose command line carries `token`."""
    found = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(token in part for part in (p.info["cmdline"] or [])):
                found.append(" ".join(p.info["cmdline"]))
        except psutil.Error:
            pass
    return found


def test_call_returns_plain_data(make_module):
    impl = make_module("m", "def f(a, b=1):\n    return {'sum': a + b, 'pair': (a, b)}\n")
    assert impl.call("f", 2, b=3) == {"sum": 5, "pair": [2, 3]}


def test_run_sends_the_scenario_as_source(make_module):
    impl = make_module("m", "VALUE = 41\n")
    assert impl.run(scenario_reads_module, 1) == 42


def scenario_reads_module(module, extra):
    import sys
    assert "test_runner" not in sys.modules  # the test file never enters the child
    return module.VALUE + extra


def test_async_scenario_runs_on_a_fresh_loop(make_module):
    impl = make_module("m", "async def double(x):\n    return 2 * x\n")
    assert impl.run(async_scenario, 21) == 42


async def async_scenario(module, x):
    import asyncio
    await asyncio.sleep(0)
    return await module.double(x)


def test_non_plain_result_is_refused(make_module):
    impl = make_module("m", "class Liar:\n    def __eq__(self, other):\n        return True\n\ndef f():\n    return Liar()\n")
    with pytest.raises(LearnerError, match="cannot be sent back"):
        impl.call("f")


def test_exception_comes_back_with_a_trimmed_traceback(make_module):
    impl = make_module("m", "def f():\n    return helper()\n\ndef helper():\n    raise KeyError('boom')\n")
    with pytest.raises(LearnerError) as info:
        impl.call("f")
    text = str(info.value)
    assert text.startswith("KeyError: 'boom'")
    assert "in helper" in text and "_child.py" not in text


def test_stub_is_recognised(make_module):
    impl = make_module("m", "def f():\n    raise NotImplementedError('01.1: not implemented yet')\n")
    with pytest.raises(NotImplementedYet):
        impl.call("f")


def test_missing_function_and_missing_file(make_module, tmp_path):
    impl = make_module("m", "def g():\n    pass\n")
    with pytest.raises(LearnerError, match="has no function f"):
        impl.call("f")
    with pytest.raises(CallFailed, match="does not exist"):
        type(impl)(tmp_path, "nothere").call("f")


def test_syntax_error_is_reported(make_module):
    impl = make_module("m", "def f(:\n    pass\n")
    with pytest.raises(LearnerError, match="SyntaxError"):
        impl.call("f")


def test_binary_garbage_is_reported(make_module, tmp_path):
    impl = make_module("m", "")
    impl.path.write_bytes(b"\x00\xff\xfe garbage \x00")
    with pytest.raises(LearnerError):
        impl.call("f")


def test_exit_at_import(make_module):
    with pytest.raises(LearnerError, match=r"sys.exit\(0\)"):
        make_module("m", "import sys\nsys.exit(0)\n").call("f")
    with pytest.raises(ChildDied, match="exited with status 0"):
        make_module("m2", "import os\nos._exit(0)\n").call("f")


def test_fake_reports_in_output_do_not_count(make_module):
    impl = make_module("m", """
        import sys
        def f():
            print('{"ok": true, "value": 42}')
            print("===== 52 passed in 0.1s =====")
            sys.stdout.flush()
            return 1
        """)
    assert impl.call("f") == 1


def test_infinite_loop_times_out_with_stacks(make_module):
    impl = make_module("m", "def spin():\n    while True:\n        pass\n", timeout=1.0)
    start = time.monotonic()
    with pytest.raises(CallTimeout) as info:
        impl.call("spin")
    # stopped after 1 s of running: on a busy machine later, but never past the wall-clock backstop
    assert time.monotonic() - start < 1.0 * WALL_FACTOR + 3.0
    assert "in spin" in str(info.value)


def test_deadlock_times_out_and_shows_where(make_module):
    impl = make_module("m", """
        import threading
        lock = threading.Lock()
        def stuck():
            with lock:
                with lock:
                    pass
        """, timeout=1.0)
    with pytest.raises(CallTimeout) as info:
        impl.call("stuck")
    assert "in stuck" in str(info.value)


def test_never_ending_thread_does_not_hold_the_call(make_module):
    impl = make_module("m", """
        import threading
        def f():
            threading.Thread(target=threading.Event().wait).start()
            return "done"
        """, timeout=5.0)
    assert impl.call("f") == "done"


def test_no_process_survives_a_call(make_module):
    token = f"{uuid.uuid4().int % 10**6}.4321"
    impl = make_module("m", f"""
        import os, subprocess, time
        def f():
            subprocess.Popen(["sleep", "{token}"])                        # same group
            subprocess.Popen(["sleep", "{token}"], start_new_session=True) # escapes the group
            if os.fork() == 0:
                time.sleep(1000)
            while True:
                pass
        """, timeout=1.5)
    with pytest.raises(CallTimeout):
        impl.call("f")
    assert leftovers(token) == []


def test_sigterm_is_no_escape(make_module):
    impl = make_module("m", """
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        def f():
            while True:
                pass
        """, timeout=1.0)
    start = time.monotonic()
    with pytest.raises(CallTimeout, match="no stack could be read|timed out"):
        impl.call("f")
    assert time.monotonic() - start < 1.0 * WALL_FACTOR + 3.0


def test_output_is_capped(make_module):
    impl = make_module("m", "def f():\n    for _ in range(200000):\n        print('x' * 100)\n    raise RuntimeError('late')\n")
    with pytest.raises(LearnerError) as info:
        impl.call("f")
    assert len(info.value.output) <= 64 * 1024


def test_each_call_starts_fresh(make_module):
    impl = make_module("m", "COUNT = []\ndef bump():\n    COUNT.append(1)\n    return len(COUNT)\n")
    assert [impl.call("bump") for _ in range(3)] == [1, 1, 1]


def test_reads_the_latest_saved_file(make_module):
    impl = make_module("m", "def f():\n    return 1\n")
    assert impl.call("f") == 1
    impl.path.write_text("def f():\n    return 2\n")
    assert impl.call("f") == 2


def test_secrets_in_the_environment_stay_behind(make_module, monkeypatch):
    monkeypatch.setenv("GRADER_SECRET", "s3cret")
    impl = make_module("m", "import os\ndef f():\n    return os.environ.get('GRADER_SECRET')\n")
    assert impl.call("f") is None


def test_spawn_workers_can_import_the_module(make_module):
    impl = make_module("pool_mod", """
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor
        def double(x):
            return 2 * x
        def f():
            with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
                return list(pool.map(double, range(5)))
        """, timeout=60)
    assert impl.call("f") == [0, 2, 4, 6, 8]


# ---------------------------------------------------------------------------- the call's own clock
# A CPU is made busy on purpose: hogs pinned to one CPU, and the code under test pins itself to
# the same one, so the call waits for that CPU whatever else the machine is doing.

@pytest.fixture
def busy_cpu():
    """One CPU kept busy by two pinned busy loops (killed afterwards); yields its number."""
    cpu = min(os.sched_getaffinity(0))
    # each in a session of its own, as the call is: with autogroup scheduling, CPU time is shared
    # out per session first
    hogs = [subprocess.Popen([sys.executable, "-c", f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nwhile True:\n    pass\n"],
                             start_new_session=True)
            for _ in range(2)]
    try:
        yield cpu
    finally:
        for h in hogs:
            h.kill()
            h.wait()


PINNED = """
    import os, threading, time
    def work(cpu, seconds):
        os.sched_setaffinity(0, {cpu})
        wall = time.monotonic()
        start = time.process_time()
        while time.process_time() - start < seconds:
            pass
        return time.monotonic() - wall
    def stuck(cpu):
        os.sched_setaffinity(0, {cpu})
        lock = threading.Lock()
        with lock:
            with lock:
                pass
    def crowd(cpu, n):
        os.sched_setaffinity(0, {cpu})
        for _ in range(n):
            if os.fork() == 0:
                while True:
                    pass
        while True:
            pass
    """


def test_time_spent_waiting_for_a_busy_cpu_does_not_count(make_module, busy_cpu):
    impl = make_module("m", PINNED, timeout=2.0)
    wall = impl.call("work", busy_cpu, 1.2)
    # the work needed 1.2 s of CPU but, sharing its CPU with two busy loops, took longer than the
    # time-out on the wall clock: the old wall-clock deadline would have failed a correct call
    assert wall > 2.0, f"the CPU was not busy enough to test anything ({wall:.2f} s)"


def test_a_deadlock_on_a_busy_cpu_is_still_stopped_at_its_time_out(make_module, busy_cpu):
    impl = make_module("m", PINNED, timeout=1.5)
    start = time.monotonic()
    with pytest.raises(CallTimeout) as info:
        impl.call("stuck", busy_cpu)
    # a blocked thread waits for no CPU: no time is added (the backstop would be 6 s)
    assert time.monotonic() - start < 1.5 + 3.0
    assert "in stuck" in str(info.value)


def test_the_wall_clock_backstop_stops_a_call_that_only_waits(make_module, busy_cpu):
    impl = make_module("m", PINNED, timeout=1.0)
    start = time.monotonic()
    with pytest.raises(CallTimeout, match="wall-clock limit") as info:
        impl.call("crowd", busy_cpu, 6)     # 7 spinners and 2 hogs on one CPU: each runs 1/9 of the time
    assert time.monotonic() - start < 1.0 * WALL_FACTOR + 3.0
    assert "timed out after 1 s" in str(info.value)


def test_a_time_out_names_the_call_that_hung(make_module):
    impl = make_module("m", "def spin(*args, **kwargs):\n    while True:\n        pass\n", timeout=0.5)
    with pytest.raises(CallTimeout) as info:
        impl.call("spin", list(range(100)), "x" * 500, depth={"a": {"b": {"c": {"d": 1}}}})
    first = str(info.value).splitlines()[0]
    assert first.startswith("m.spin([0, 1, 2, 3, ...], 'xxx"), first
    assert "depth={'a': {'b': {'c': {...}}}}) timed out after 0.5 s" in first, first
    assert first.index(" timed out") < 120, "the arguments are shortened"
    with pytest.raises(CallTimeout, match=r"^the test's scenario spin_scenario\(module, 7\) timed out after 0.5 s"):
        impl.run(spin_scenario, 7)


def spin_scenario(module, n):
    module.spin(n)
