"""Graded tests of 09_multicore. Scenarios are module-level functions sent to the child as
source, so each is self-contained; shared helpers travel as strings of source (CPU_KIT,
BRIDGE_KIT) that the scenario execs.

How each rule is forced rather than timed:

* 09.1 (cpu_map). The jobs live in a small module the scenario writes to a temporary folder
  and puts on sys.path, so a spawned or forkserver worker imports them by name, as it would a
  learner's module. A gated job reports "started <i> <pid>" on a FIFO and then blocks reading
  its own gate FIFO; a conductor thread in the caller reads the reports and opens the gates in
  an order it chooses. That proves what a clock could only suggest: results finishing out of
  order (item 1 is released, and item 2 starting on the freed worker shows that item 1's result
  was already written to the pool's result pipe, before item 0 is released), `workers` jobs in
  progress at once, and - in the liveness test - a task of the caller's own event loop opening
  the gates while cpu_map awaits. The only clocks are safety nets that turn a hang into a
  verdict: 10 s for a second job to start (a worker spawns in well under a second even on
  two busy cores), 5 s for the loop to run a callback it was handed.
* 09.2 (await_cf). The loop is an asyncio.SelectorEventLoop with a recording selector and
  with call_soon, call_at, create_task and create_future watched: a call from any thread but
  the loop's is a violation. call_soon_threadsafe never goes through call_soon, so it is not
  one (Lib/asyncio/base_events.py, call_soon_threadsafe: self._call_soon(...) at v3.11.7, an
  events._ThreadSafeHandle appended to self._ready at v3.14.0 and v3.15.0rc1, then
  _write_to_self() to wake the selector). The thread
  that completes the cf waits until the loop goes to sleep in select(None) - or until it has
  seen 200 selects with a timeout, which is polling; or, a safety net, 10 s without the loop
  reaching select() at all, a bridge that blocked it in cf.result() - then completes it, and
  nudges the loop with call_soon_threadsafe afterwards, so a bridge that broke only the thread rule still
  returns and loses only that test. asyncio.wrap_future, to_thread and run_in_executor raise.
* 09.3 (prefork_echo). Loopback clients in the caller; /proc/<pid>/stat gives each pid's
  parent and state (Z: a zombie). The readiness test makes every os.fork() child pause 1 s
  before it goes on, so a service that returns before its children listen is refused at once,
  while one that waits (or listens before forking) is not: a forced interleaving, not a
  measurement (only a parent stalled for a whole second could change its verdict).

PYTEST_DONT_REWRITE: a failing assert reads as its message alone.
"""

import pytest

from coursekit.testing import explained_hang

task = pytest.mark.task

# ---------------------------------------------------------------- 09.1 cpu_map

JOBS = '''
import os


class Refused(Exception):
    pass


def whoami(x):
    return [x, os.getpid()]


def refuse(x):
    if x == 3:
        raise Refused(f"job {x} refused")
    return x


def gated(job):
    i, gate, report = job
    fd = os.open(report, os.O_WRONLY)       # the caller holds the FIFO open: no wait here
    os.write(fd, b"%d %d\\n" % (i, os.getpid()))
    os.close(fd)
    with open(gate, "rb") as g:             # blocks until the caller writes this job's byte
        g.read(1)
    return [i, os.getpid()]
'''

CPU_KIT = f"JOBS = {JOBS!r}\n" + '''
import asyncio
import multiprocessing
import os
import select
import sys
import tempfile
import threading

folder = tempfile.mkdtemp(prefix="cpu-map-")
with open(os.path.join(folder, "course_cpu_jobs.py"), "w") as f:
    f.write(JOBS)
sys.path.insert(0, folder)
import course_cpu_jobs as jobs

LAMBDA = lambda x: x    # noqa: E731  # a module-level lambda: pickle finds no name for it


def describe(exc):
    if isinstance(exc, NotImplementedError):
        raise exc
    return {"type": type(exc).__name__, "module": type(exc).__module__, "message": str(exc)}


def gone(pid):
    """Is pid reaped? A zombie still has its /proc entry, with state Z."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            f.read()
        return False
    except FileNotFoundError:
        return True


def leftovers(pids):
    alive = [p.pid for p in multiprocessing.active_children()]
    return sorted(set(alive) | {p for p in pids if not gone(p)})


class Gates:
    """n gated jobs and the conductor that opens their gates."""
    NET_START = 10.0     # safety net: the next job should start within this
    NET_LOOP = 5.0       # safety net: the loop should run a callback handed to it within this

    def __init__(self, n):
        self.n = n
        self.report = os.path.join(folder, "report")
        os.mkfifo(self.report)
        self.report_fd = os.open(self.report, os.O_RDWR)
        self.gate_fds = []
        for i in range(n):
            path = os.path.join(folder, f"gate-{i}")
            os.mkfifo(path)
            self.gate_fds.append(os.open(path, os.O_RDWR))
        self.jobs = [[i, os.path.join(folder, f"gate-{i}"), self.report] for i in range(n)]
        self.buffer = b""
        self.started, self.released, self.gated = [], [], set()
        self.peak = self.children = 0
        self.waited_out = []

    def next_start(self, timeout=None):
        while b"\\n" not in self.buffer:
            ready, _, _ = select.select([self.report_fd], [], [], timeout)
            if not ready:
                return None
            self.buffer += os.read(self.report_fd, 4096)
        line, self.buffer = self.buffer.split(b"\\n", 1)
        i, pid = map(int, line.split())
        self.started.append([i, pid])
        self.gated.add(i)
        self.peak = max(self.peak, len(self.gated))
        self.children = max(self.children, len(multiprocessing.active_children()))
        return i

    def release(self, i):
        if i in self.gated:
            self.gated.discard(i)
            self.released.append(i)
            os.write(self.gate_fds[i], b"x")

    def release_the_rest(self):
        for i in sorted(self.gated):
            self.release(i)
        while len(self.released) < self.n:
            self.release(self.next_start())

    def wait_for(self, condition, timeout, what):
        while not condition():
            if self.next_start(timeout) is None:
                self.waited_out.append(what)
                return False
        return True


def conduct(gates, plan, workers, loop=None, queue=None, acks=None, frozen=None):
    if plan == "each":                      # open each gate as soon as its job starts
        gates.release_the_rest()
    elif plan == "parallel":                # hold every job until `workers` are in progress at once
        gates.wait_for(lambda: len(gates.gated) >= min(workers, gates.n), gates.NET_START,
                       f"{min(workers, gates.n)} jobs in progress at once")
        gates.release_the_rest()
    elif plan == "order":                   # 3 jobs, 2 workers: finish 1, then 2, then 0
        if gates.wait_for(lambda: {0, 1} <= gates.gated, gates.NET_START, "jobs 0 and 1 in progress at once"):
            gates.release(1)
            if gates.wait_for(lambda: 2 in gates.gated, gates.NET_START, "job 2 starting after job 1 finished"):
                gates.release(2)
        gates.release_the_rest()
    elif plan == "loop":                    # the caller's event loop opens every gate
        while len(gates.released) < gates.n:
            i = gates.next_start()
            if frozen:
                gates.release(i)
                continue
            loop.call_soon_threadsafe(queue.put_nowait, i)
            if not acks[i].wait(gates.NET_LOOP):
                frozen.append(i)
                gates.release(i)
'''


def gated_map(module, kit, n, workers, plan):
    """cpu_map(jobs.gated, ...) over n gated jobs, the gates opened by `plan`; returns what
    came back, the starts, the peak of jobs in progress, the most pool processes seen alive,
    what the conductor waited out, and whether the loop had to be bypassed."""
    exec(kit, globals())
    gates = Gates(n)
    out = {"caller": os.getpid(), "frozen": [], "beats": 0}
    acks = [threading.Event() for _ in range(n)]

    async def main():
        loop = asyncio.get_running_loop()
        queue = asyncio.Queue()

        async def heartbeat():
            while True:
                i = await queue.get()
                if not acks[i].is_set():
                    gates.release(i)
                    out["beats"] += 1
                    acks[i].set()

        beat = asyncio.create_task(heartbeat())
        conductor = threading.Thread(target=conduct, daemon=True,
                                     args=(gates, plan, workers, loop, queue, acks, out["frozen"]))
        conductor.start()
        try:
            return await module.cpu_map(jobs.gated, gates.jobs, workers)
        finally:
            beat.cancel()

    try:
        out["value"] = asyncio.run(main())
    except BaseException as exc:
        out["error"] = describe(exc)
    out.update(started=gates.started, peak=gates.peak, children=gates.children, waited_out=gates.waited_out)
    return out


def plain_map(module, kit, fn, items, workers):
    """cpu_map(jobs.<fn> or a lambda, items, workers): the value or the error, and what is left."""
    exec(kit, globals())
    func = LAMBDA if fn == "lambda" else getattr(jobs, fn)
    out = {"caller": os.getpid()}
    try:
        out["value"] = asyncio.run(module.cpu_map(func, items, workers))
    except BaseException as exc:
        out["error"] = describe(exc)
        if isinstance(exc, jobs.Refused):
            out["same_class"] = True
    if "value" in out:
        out["value"] = [v if isinstance(v, (int, list)) else repr(v) for v in out["value"]]
    pids = [v[1] for v in out.get("value") or [] if isinstance(v, list)]
    out["left"] = leftovers(pids)
    return out


def started_by(module, kit):
    """Which start methods cpu_map's workers were started by."""
    exec(kit, globals())
    import multiprocessing.context as context
    methods = []
    patched = {}
    for name, cls in [("fork", context.ForkProcess), ("spawn", context.SpawnProcess),
                      ("forkserver", context.ForkServerProcess)]:
        real = cls.__dict__["_Popen"]

        def counting(process_obj, _real=real.__func__, _name=name):
            methods.append(_name)
            return _real(process_obj)

        patched[cls] = real
        cls._Popen = staticmethod(counting)
    try:
        value = asyncio.run(module.cpu_map(jobs.whoami, [1, 2, 3], 2))
    finally:
        for cls, real in patched.items():
            cls._Popen = real
    return {"value": value, "methods": methods}


def mapped(exercise, scenario, *args, what="cpu_map never returned"):
    with explained_hang(what):
        return exercise("cpu_map").run(scenario, CPU_KIT, *args, timeout=60)


def no_error(got, call):
    assert "error" not in got, f"{call} raised {got['error']['type']}: {got['error']['message']}"


@task("09.1")
def test_results_keep_the_input_order(exercise):
    """The results come back in the order of items, though the jobs finish in another order"""
    got = mapped(exercise, gated_map, 3, 2, "order")
    no_error(got, "cpu_map(job, 3 gated jobs, workers=2)")
    values = [v[0] for v in got["value"]]
    assert values == [0, 1, 2], (
        f"cpu_map over 3 jobs with workers=2: the test let job 1 finish first, then job 2, then job 0; "
        f"the result should still be in the order of items, [0, 1, 2], got {values}. asyncio.gather "
        f"keeps the order of its arguments; as_completed or a done callback gives the finishing order.")
    empty = mapped(exercise, plain_map, "whoami", [], 2)
    no_error(empty, "cpu_map(fn, [], 2)")
    assert empty["value"] == [], f"cpu_map(fn, [], 2) should be [], got {empty['value']!r}"


@task("09.1")
def test_calls_run_in_at_most_workers_processes(exercise):
    """fn runs in worker processes, never in the caller, and never more than `workers` of them"""
    for n, workers in [(4, 2), (3, 1)]:
        got = mapped(exercise, gated_map, n, workers, "each")
        no_error(got, f"cpu_map(job, {n} gated jobs, workers={workers})")
        pids = {pid for _, pid in got["started"]}
        assert got["caller"] not in pids, (
            f"cpu_map(job, {n} jobs, workers={workers}): the jobs ran in the caller's own process "
            f"(pid {got['caller']}); they must run in worker processes (a ProcessPoolExecutor), so the "
            "loop's process is free.")
        assert len(pids) <= workers and got["children"] <= workers, (
            f"cpu_map(job, {n} jobs, workers={workers}): saw {got['children']} pool processes alive at "
            f"once and jobs in {len(pids)} different processes; at most {workers} may exist. Pass "
            "max_workers=workers to the pool.")


@task("09.1")
def test_workers_run_at_once(exercise):
    """Up to `workers` jobs are in progress at the same time"""
    got = mapped(exercise, gated_map, 4, 2, "parallel")
    no_error(got, "cpu_map(job, 4 gated jobs, workers=2)")
    assert got["peak"] >= 2, (
        f"cpu_map(job, 4 jobs, workers=2): the test held every job until two were in progress at once, "
        f"and after 10 s there were only {got['peak']}: submit every item before awaiting "
        "any result, so that the pool keeps all its workers busy.")


@task("09.1")
def test_workers_start_by_spawn_or_forkserver(exercise):
    """The worker processes are started by spawn or forkserver, never fork"""
    with explained_hang("cpu_map never returned"):
        got = exercise("cpu_map").run(started_by, CPU_KIT, timeout=60)
    assert got["methods"], (
        "cpu_map(fn, [1, 2, 3], 2) started no multiprocessing worker process: run fn in a "
        "ProcessPoolExecutor (a thread pool or an inline call keeps the work in the loop's process).")
    assert set(got["methods"]) <= {"spawn", "forkserver"}, (
        f"cpu_map's workers were started by {sorted(set(got['methods']))}; they must be started by spawn or "
        "forkserver: pass mp_context=multiprocessing.get_context('spawn') (or 'forkserver') to the pool. "
        "fork copies a process that has threads, with their locks in whatever state they were.")


@task("09.1")
def test_the_loop_stays_live_while_the_pool_works(exercise):
    """Another task of the caller's loop runs while fn is in progress"""
    got = mapped(exercise, gated_map, 2, 2, "loop",
                 what="cpu_map never returned while its jobs waited for the caller's event loop to let them go")
    no_error(got, "cpu_map(job, 2 gated jobs, workers=2)")
    assert not got["frozen"], (
        "cpu_map(job, 2 jobs, workers=2): each job waited for a task of the caller's event loop to let it "
        f"go, and the loop did not run that task within 5 s (job {got['frozen'][0]}): cpu_map blocked the "
        "loop while the pool worked. Await the pool's futures (loop.run_in_executor) instead of waiting "
        "for them with pool.map, future.result() or concurrent.futures.wait.")
    assert got["beats"] == 2, f"the caller's loop should have let both jobs go, it let {got['beats']} go"


@task("09.1")
def test_an_exception_in_fn_propagates_with_its_type(exercise):
    """An exception raised by fn leaves cpu_map with its own type and message"""
    got = mapped(exercise, plain_map, "refuse", [1, 2, 3, 4], 2)
    assert "error" in got, (f"cpu_map(refuse, [1, 2, 3, 4], 2): refuse(3) raises Refused, so cpu_map should "
                            f"raise it; it returned {got['value']!r}")
    assert got.get("same_class") and got["error"]["message"] == "job 3 refused", (
        f"cpu_map(refuse, [1, 2, 3, 4], 2) should raise refuse(3)'s own Refused('job 3 refused'); it raised "
        f"{got['error']['type']}: {got['error']['message']}")


@task("09.1")
def test_a_lambda_fails_with_pickling_error(exercise):
    """A lambda cannot be sent to a worker: pickle.PicklingError, without hanging"""
    got = mapped(exercise, plain_map, "lambda", [1, 2], 2,
                 what="cpu_map(lambda x: x, [1, 2], 2) never returned: a job that cannot be pickled must fail, not hang "
                      "(pool.shutdown(cancel_futures=True) can deadlock here: see rule 7)")
    assert "error" in got, (
        f"cpu_map(lambda x: x, [1, 2], 2) returned {got['value']!r}: a lambda cannot reach a worker process "
        "(pickle sends a function by its module and name, and a lambda has none), so it should raise "
        "pickle.PicklingError. Did the calls run in threads or in the caller?")
    assert got["error"]["type"] == "PicklingError", (
        f"cpu_map(lambda x: x, [1, 2], 2) should raise pickle.PicklingError, it raised "
        f"{got['error']['type']}: {got['error']['message']}")


@task("09.1")
def test_the_pool_is_shut_down(exercise):
    """No worker process is left when cpu_map returns or raises"""
    for fn, items in [("whoami", [1, 2, 3, 4, 5]), ("refuse", [1, 2, 3, 4])]:
        got = mapped(exercise, plain_map, fn, items, 2)
        how = "returned" if "value" in got else "raised"
        assert not got["left"], (
            f"after cpu_map({fn}, {items}, 2) {how}, worker processes {got['left']} were still there: shut "
            "the pool down (use it in a with block), so its processes are joined before cpu_map returns.")
        assert "value" in got or fn == "refuse", f"cpu_map(whoami, {items}, 2) raised {got['error']}"


# ---------------------------------------------------------------- 09.2 await_cf

BRIDGE_KIT = '''
import asyncio
import asyncio.futures
import asyncio.threads
import concurrent.futures
import selectors
import threading


def off_limits(name):
    def refuse(*args, **kwargs):
        raise RuntimeError(f"{name} is off limits in this task: write the bridge yourself")
    return refuse


# The shortcuts are put off limits only while run_watched runs the learner's code, and put back
# after: a process that runs more calls than this one (bench/grade_speed.py's floor runs every
# call in one process) would otherwise lose loop.run_in_executor, which calls wrap_future.
SHORTCUTS = [(asyncio, "wrap_future"), (asyncio.futures, "wrap_future"),
             (asyncio, "to_thread"), (asyncio.threads, "to_thread")]


class NeverBlock(Exception):
    pass


class Recording(selectors.DefaultSelector):
    """Records each select() timeout. On a select(None) (the loop going to sleep) it sets
    `idle`; after 200 selects with a timeout while `watching`, it sets `idle` too. With
    `forbid_sleep`, a select(None) that would have to wait (nothing ready) raises NeverBlock."""
    def __init__(self):
        super().__init__()
        self.timeouts = []
        self.watching = False
        self.forbid_sleep = False
        self.idle = threading.Event()      # the loop slept, or clearly polled: complete cf now
        self.slept_while_watching = False
        self.polls = 0

    def select(self, timeout=None):
        if self.watching:
            self.timeouts.append(timeout)
            if timeout is None:
                if self.forbid_sleep:
                    ready = super().select(0)
                    if ready:            # select(None) with an fd ready returns at once: no sleep
                        return ready
                    raise NeverBlock("the loop went to sleep in select(None)")
                self.slept_while_watching = True
                self.idle.set()
            else:
                self.polls += 1
                if self.polls >= 200:
                    self.idle.set()
        return super().select(timeout)


class Watched(asyncio.SelectorEventLoop):
    """A loop that notes every call of its non-thread-safe methods from another thread."""
    def __init__(self, selector):
        super().__init__(selector=selector)
        self.home = threading.get_ident()
        self.violations = []

    def _note(self, what):
        if threading.get_ident() != self.home:
            self.violations.append(f"loop.{what}() called from thread {threading.current_thread().name}")

    def call_soon(self, *args, **kwargs):
        self._note("call_soon")
        return super().call_soon(*args, **kwargs)

    def call_at(self, *args, **kwargs):
        self._note("call_at")
        return super().call_at(*args, **kwargs)

    def create_task(self, *args, **kwargs):
        self._note("create_task")
        return super().create_task(*args, **kwargs)

    def create_future(self):
        self._note("create_future")
        return super().create_future()

    def add_reader(self, *args, **kwargs):
        self._note("add_reader")
        return super().add_reader(*args, **kwargs)

    def run_in_executor(self, *args, **kwargs):
        raise RuntimeError("loop.run_in_executor is off limits in this task: write the bridge yourself")


def describe(exc):
    if isinstance(exc, NotImplementedError):
        raise exc
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class Boom(Exception):
    pass


def run_watched(main):
    saved = [(owner, name, getattr(owner, name)) for owner, name in SHORTCUTS]
    for owner, name in SHORTCUTS:
        setattr(owner, name, off_limits(f"asyncio.{name}"))
    selector = Recording()
    loop = Watched(selector)
    try:
        return loop.run_until_complete(main(loop, selector))
    finally:
        loop.close()
        for owner, name, original in saved:
            setattr(owner, name, original)


NET_BLOCKED = 10.0    # safety net: a loop that has not reached select() by then is blocked


def complete_when_idle(loop, selector, cf, how):
    """In a thread: wait until the loop sleeps (or has clearly polled), then complete cf,
    then nudge the loop so a bridge that broke only the thread rule still gets to return.
    A loop that never reaches select() (await_cf blocked it in cf.result()) is a verdict
    too: after NET_BLOCKED s, cf is completed anyway, so the blocked call returns."""
    def run():
        selector.idle.wait(NET_BLOCKED)
        if how == "result":
            cf.set_result("the answer")
        else:
            cf.set_exception(how)
        loop.call_soon_threadsafe(lambda: None)
    thread = threading.Thread(target=run, name="completer", daemon=True)
    thread.start()
    return thread
'''


def bridge_pending(module, kit, outcome):
    """await_cf(cf) where another thread completes cf once the loop sleeps."""
    exec(kit, globals())
    report = {}
    error = Boom("the job failed")

    async def main(loop, selector):
        cf = concurrent.futures.Future()
        cf.set_running_or_notify_cancel()
        selector.watching = True
        thread = complete_when_idle(loop, selector, cf, "result" if outcome == "result" else error)
        try:
            report["value"] = await module.await_cf(cf)
        except NotImplementedError:
            raise
        except BaseException as exc:
            report["error"] = describe(exc)
            report["same_object"] = exc is error
        selector.watching = False
        # await_cf has ended, perhaps without the loop ever waiting (a bridge that raised at
        # once): let a completer still waiting for the loop to sleep go on, or join() hangs
        # until the call's deadline.
        selector.idle.set()
        thread.join()
        report["slept"] = selector.slept_while_watching
        report["polls"] = selector.polls
        report["timeouts"] = [t for t in selector.timeouts[:8]]
        report["violations"] = loop.violations[:5]

    run_watched(main)
    return report


def bridge_cancelled(module, kit, state):
    """Cancel the task awaiting await_cf(cf) while cf is pending (or running)."""
    exec(kit, globals())
    report = {}

    async def main(loop, selector):
        cf = concurrent.futures.Future()
        if state == "running":
            cf.set_running_or_notify_cancel()
        waiter = asyncio.ensure_future(module.await_cf(cf))
        # If await_cf blocks the loop's thread (cf.result()), the loop never comes back here:
        # after NET_BLOCKED s a watchdog completes cf, so the call ends with a verdict.
        back = threading.Event()

        def watchdog():
            if not back.wait(NET_BLOCKED) and not cf.done():
                report["blocked"] = True
                cf.set_result("unblocked")
        threading.Thread(target=watchdog, daemon=True).start()
        for _ in range(20):                  # let it reach its wait
            await asyncio.sleep(0)
        back.set()
        if waiter.done():
            waiter.result()                  # a stub's NotImplementedError surfaces here
        waiter.cancel()
        try:
            await waiter
            report["ended"] = "returned"
        except asyncio.CancelledError:
            report["ended"] = "cancelled"
        except NotImplementedError:
            raise
        except BaseException as exc:
            report["ended"] = describe(exc)
        report["task_cancelled"] = waiter.cancelled()
        report["cf"] = cf._state
        if state == "running":
            cf.set_result("late")            # the worker finishes later: nothing may break
        for _ in range(5):
            await asyncio.sleep(0)

    run_watched(main)
    return report


def bridge_done(module, kit):
    """await_cf on a cf already done (a result, then an exception): the loop must never sleep."""
    exec(kit, globals())
    report = {}
    error = Boom("it had failed already")

    for name in ("result", "exception"):
        cf = concurrent.futures.Future()
        cf.set_running_or_notify_cancel()
        if name == "result":
            cf.set_result(42)
        else:
            cf.set_exception(error)

        async def main(loop, selector):
            selector.watching = selector.forbid_sleep = True
            try:
                report[name] = ["value", await module.await_cf(cf)]
            except NotImplementedError:
                raise
            except Exception as exc:
                report[name] = ["error", describe(exc), exc is error]
            selector.watching = selector.forbid_sleep = False

        try:
            run_watched(main)
        except NeverBlock:               # raised by select() itself: it leaves the loop, not the await
            report[name] = ["slept"]
    return report


def bridged(exercise, scenario, *args):
    with explained_hang("await_cf never returned, though the concurrent future was completed and the loop woken"):
        return exercise("future_bridge").run(scenario, BRIDGE_KIT, *args, timeout=30)


@task("09.2")
def test_the_result_arrives(exercise):
    """await_cf returns the result another thread sets on the concurrent future"""
    got = bridged(exercise, bridge_pending, "result")
    assert got.get("value") == "the answer", (
        f"another thread called cf.set_result('the answer') while the loop waited; await_cf(cf) should "
        f"return 'the answer', it gave {got.get('value', got.get('error'))!r}")


@task("09.2")
def test_an_exception_propagates_itself(exercise):
    """An exception set on the concurrent future is raised by await_cf: the very object"""
    got = bridged(exercise, bridge_pending, "exception")
    assert got.get("same_object"), (
        f"another thread called cf.set_exception(Boom('the job failed')); await_cf(cf) should raise that "
        f"very exception, it gave {got.get('value', got.get('error'))!r}")


@task("09.2")
def test_the_completing_thread_never_touches_the_loop(exercise):
    """cf's done callback reaches the loop only through call_soon_threadsafe or a socket"""
    got = bridged(exercise, bridge_pending, "result")
    assert "value" in got, f"await_cf(cf) raised {got.get('error')} instead of returning cf's result"
    assert not got["violations"], (
        "the thread that completed cf ran your done callback, and it touched the loop directly: "
        f"{'; '.join(got['violations'])}. From another thread, only loop.call_soon_threadsafe (or a byte "
        "written to a socket the loop watches) is safe; future.set_result there calls loop.call_soon.")


@task("09.2")
def test_the_loop_sleeps_while_waiting(exercise):
    """While cf is pending the loop sleeps in select() with no timeout: no polling"""
    got = bridged(exercise, bridge_pending, "result")
    assert "value" in got, f"await_cf(cf) raised {got.get('error')} instead of returning cf's result"
    assert got["slept"], (
        "while await_cf waited for a pending cf, the loop never reached select(): await_cf blocked the loop's "
        "thread (cf.result() or another blocking wait), so no other task could run; await a future that "
        "cf's done callback resolves instead" if not got["polls"] and not got["timeouts"] else
        f"while await_cf waited for a pending cf, the loop never slept: it called select() {got['polls']} "
        f"times with a timeout (the first ones: {got['timeouts']}). That is polling (轮询); wait on a future "
        "that cf's done callback resolves, so select() can wait with timeout None until it is woken.")


@task("09.2")
def test_cancelling_the_waiter_cancels_a_pending_cf(exercise):
    """Cancelling the awaiting task cancels cf if it has not started, and the task ends cancelled"""
    for state, cf_state in [("pending", "CANCELLED"), ("running", "RUNNING")]:
        got = bridged(exercise, bridge_cancelled, state)
        assert not got.get("blocked"), (
            f"await_cf(cf) (cf {state}) blocked the loop's thread: the loop could not run the task that was to "
            "cancel it until the test completed cf after 10 s. Await a future that cf's done callback resolves.")
        assert got["ended"] == "cancelled" and got["task_cancelled"], (
            f"the task awaiting await_cf(cf) (cf {state}) was cancelled; it should end cancelled "
            f"(CancelledError propagates), it {got['ended']}")
        assert got["cf"] == cf_state, (
            f"the task awaiting await_cf(cf) was cancelled while cf was {state.upper()}; cf should then be "
            f"{cf_state}, it is {got['cf']}" + (": call cf.cancel() when the wait is cancelled" if state == "pending" else ""))


@task("09.2")
def test_a_done_cf_returns_at_once(exercise):
    """A cf already done gives its result or raises its exception without the loop sleeping"""
    got = bridged(exercise, bridge_done)
    assert got["result"] == ["value", 42], (
        f"await_cf(cf) with cf already done with result 42 should return 42 at once, without the loop "
        f"going to sleep; got {got['result']}")
    assert got["exception"][:1] == ["error"] and got["exception"][2:] == [True], (
        f"await_cf(cf) with cf already failed should raise cf's own exception at once; got {got['exception']}")


# ---------------------------------------------------------------- 09.3 prefork_echo

PROC_KIT = '''
import os
import signal
import socket


def proc_stat(pid):
    """(parent pid, state) of pid, or None once it is reaped."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), fields[0]


def children_of(pid):
    found = set()
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.update(int(c) for c in f.read().split())
    except FileNotFoundError:
        pass
    return found


def connect(port, patient):
    """A connection to the service. Patient: a refused connection is retried for up to 10 s
    (a safety net, so that only the readiness test judges readiness); else no retry."""
    import time
    give_up = time.monotonic() + 10
    while True:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=10)
        except ConnectionRefusedError:
            if not patient or time.monotonic() > give_up:
                raise
            time.sleep(0.01)


def holder(port, client, pids):
    """Which of pids holds the service's end of the loopback connection from port `client`
    (its socket inode, from /proc/net/tcp, among the fds in /proc/<pid>/fd), or None. A reply
    can claim any pid; the socket it came through says who really served it."""
    wanted = None
    with open("/proc/net/tcp") as f:
        for row in f.read().splitlines()[1:]:
            fields = row.split()
            if (int(fields[1].split(":")[1], 16) == port and int(fields[2].split(":")[1], 16) == client):
                wanted = f"socket:[{fields[9]}]"
                break
    for pid in pids:
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                try:
                    if os.readlink(f"/proc/{pid}/fd/{fd}") == wanted:
                        return pid
                except OSError:
                    pass
        except OSError:
            pass
    return None


def talk(port, lines_per_connection, connections, patient=True, pids=None):
    """Send the lines, one at a time, and read each reply: list of (sent, reply). With pids
    (the caller's first), also which of them held each connection's service end:
    [sent, reply, holder] for a connection's first line."""
    out = []
    for c in range(connections):
        with connect(port, patient) as s:
            reader = s.makefile("rb")
            for k in range(lines_per_connection):
                line = f"line {c}-{k}".encode()
                s.sendall(line + b"\\n")
                out.append([line.decode(), reader.readline().decode("utf-8", "replace")])
                if pids is not None and k == 0:      # the reply came: the service end is accepted
                    out[-1].append(holder(port, s.getsockname()[1], pids))
    return out
'''


def served(module, kit, n):
    """prefork_echo(n): 100 lines over 10 connections, the pids and what they were while serving,
    then stop(): what is left and whether the port still accepts."""
    exec(kit, globals())
    me = os.getpid()
    port, pids, stop = module.prefork_echo(n)
    out = {"caller": me, "pids": list(pids)}
    try:
        out["stats"] = {str(p): proc_stat(p) for p in pids}
        try:
            out["talk"] = talk(port, 10, 10, pids=[me] + list(pids))
        except OSError as exc:
            out["talk_error"] = f"{type(exc).__name__}: {exc}"
    finally:
        stop()
    out["after"] = {str(p): proc_stat(p) for p in pids}
    # Reap what stop() left, so that the port check below judges the parent's copy of the
    # listening socket only, not a child still dying (that is test_stop_leaves_no_child's).
    for p in pids:
        stat = proc_stat(p)
        if stat is None or stat[0] != me:    # only the caller's own children (never itself)
            continue
        try:
            os.kill(p, signal.SIGKILL)
            os.waitpid(p, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        out["port_after"] = "accepted"
    except ConnectionRefusedError:
        out["port_after"] = "refused"
    except OSError as exc:
        out["port_after"] = f"{type(exc).__name__}: {exc}"
    return out


def served_late_children(module, kit):
    """prefork_echo(2) with every os.fork() child pausing 1 s first: connect as soon as it returns."""
    exec(kit, globals())
    import time
    real_fork = os.fork

    def slow_fork():
        pid = real_fork()
        if pid == 0:
            time.sleep(1.0)                  # a child that is slow to start (see the module docstring)
        return pid

    os.fork = slow_fork
    try:
        port, pids, stop = module.prefork_echo(2)
    finally:
        os.fork = real_fork
    out = {}
    try:
        out["talk"] = talk(port, 1, 1, patient=False)
    except OSError as exc:
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        stop()
    return out


def bad_counts(module, kit, values):
    exec(kit, globals())
    out = []
    for value in values:
        before = children_of(os.getpid())
        try:
            result = module.prefork_echo(value)
            out.append([repr(value), "returned", len(children_of(os.getpid()) - before)])
            try:
                result[2]()
            except Exception:
                pass
        except ValueError:
            out.append([repr(value), "ValueError", len(children_of(os.getpid()) - before)])
        except NotImplementedError:
            raise
        except Exception as exc:
            out.append([repr(value), type(exc).__name__, len(children_of(os.getpid()) - before)])
    return out


def echoed(exercise, scenario, *args):
    with explained_hang("prefork_echo, a client line or stop() never returned"):
        return exercise("prefork_echo").run(scenario, PROC_KIT, *args, timeout=40)


def talked(got, n):
    assert "talk_error" not in got, (f"with prefork_echo({n}) serving, a client connecting to 127.0.0.1 and "
                                     f"sending lines failed: {got['talk_error']}")
    return got["talk"]


@task("09.3")
def test_every_line_is_echoed_with_a_pid(exercise):
    """Each of 100 lines over 10 connections gets exactly one reply b"<pid>:<line>\\n" """
    got = echoed(exercise, served, 3)
    wrong = [f"sent {sent!r}, got {reply!r}" for sent, reply, *_ in talked(got, 3)
             if not (reply.endswith(":" + sent + "\n") and reply.split(":", 1)[0].isdigit())]
    assert not wrong, (f"prefork_echo(3): {len(wrong)} of 100 lines were not answered with '<pid>:<line>\\n', "
                       f"e.g. {wrong[0]}")


@task("09.3")
def test_every_reply_comes_from_a_child(exercise):
    """Every reply's pid is one of the returned pids, never the caller's"""
    got = echoed(exercise, served, 3)
    pids = [int(r.split(":", 1)[0]) for _, r, *_ in talked(got, 3) if r.split(":", 1)[0].isdigit()]
    assert pids, "prefork_echo(3) answered no line with '<pid>:<line>'"
    assert got["caller"] not in pids, (
        f"prefork_echo(3): replies carried the caller's own pid {got['caller']}: the parent served "
        "connections. Only the children may serve; the parent starts them and stops them.")
    strangers = sorted(set(pids) - set(got["pids"]))
    assert not strangers, (f"prefork_echo(3) returned the pids {got['pids']}, but replies came from {strangers}: "
                           "every reply must come from one of the children it returned")
    # The pid a reply claims must be the process that holds the connection's socket.
    forged = [f"{sent!r} was answered as {r.split(':', 1)[0]}, through a socket held by "
              + ("the caller" if held == got["caller"] else f"pid {held}" if held else "no process of the service")
              for sent, r, *rest in talked(got, 3) if rest for held in rest
              if r.split(":", 1)[0].isdigit() and held != int(r.split(":", 1)[0])]
    assert not forged, (f"prefork_echo(3): {len(forged)} of 10 connections were not served by the process their "
                        f"replies named, e.g. {forged[0]}. Each child must answer with its own os.getpid().")


@task("09.3")
def test_n_workers_children_exist_while_serving(exercise):
    """pids holds n_workers distinct pids, each a live child of the caller"""
    for n in (1, 3):
        got = echoed(exercise, served, n)
        assert len(set(got["pids"])) == n == len(got["pids"]), (
            f"prefork_echo({n}) returned the pids {got['pids']}: it should start {n} children and return "
            f"their {n} distinct pids")
        bad = {p: s for p, s in got["stats"].items() if s is None or s[0] != got["caller"] or s[1] == "Z"}
        assert not bad, (f"prefork_echo({n}): while serving, these pids were not live children of the caller "
                         f"(pid {got['caller']}): {bad} (each is [parent pid, state], or None if gone)")


@task("09.3")
def test_it_accepts_as_soon_as_it_returns(exercise):
    """When prefork_echo returns, a client can connect at once, even if the children start slowly"""
    got = echoed(exercise, served_late_children)
    assert "error" not in got, (
        f"prefork_echo(2) returned, the test connected at once, and the connection failed: {got['error']}. "
        "The children were slow to start (the test made each pause 1 s after fork). Listen before forking, "
        "or wait until every child is listening before returning.")
    assert got["talk"][0][1].endswith(":line 0-0\n"), f"the first reply was {got['talk'][0][1]!r}"


@task("09.3")
def test_stop_leaves_no_child(exercise):
    """stop() ends every child and waits for it: no process left, no zombie"""
    got = echoed(exercise, served, 3)
    left = {p: s for p, s in got["after"].items() if s is not None}
    assert not left, (
        f"after stop(), these children were still there: {left} (each is [parent pid, state]; state Z is a "
        "zombie: it ended but nobody waited for it). stop() must end each child and os.waitpid() it.")


@task("09.3")
def test_stop_closes_the_port(exercise):
    """After stop(), a new connection to the port is refused"""
    got = echoed(exercise, served, 2)
    assert got["port_after"] == "refused", (
        f"after stop(), connecting to the service's port was {got['port_after']}, not refused: close the "
        "listening socket in the parent too (each process holds its own copy of it after fork).")


@task("09.3")
def test_bad_n_workers_raise_value_error(exercise):
    """n_workers that is not an int >= 1 raises ValueError before any process starts"""
    values = [0, -2, 1.5, "3", None]
    got = echoed(exercise, bad_counts, values)
    wrong = [f"prefork_echo({v}) {what}" + (f" and left {k} new children" if k else "")
             for v, what, k in got if what != "ValueError" or k]
    assert not wrong, ("n_workers must be an int >= 1, else ValueError before any process starts: "
                       + "; ".join(wrong))
