"""Lesson 07: the modern asyncio API, each piece shown by a small experiment that returns data.

Why this module looks the way it does
-------------------------------------
Every experiment here is a *function that returns plain data* (dicts, lists, strings,
numbers), so a lesson cell can print it and assert the shape of its claim: an order of
events, a sign (updates lost > 0; 0 with the lock), a presence (a task name in ``ps``). No
experiment uses ``sleep`` to make things happen in an order: the order is forced with
``await asyncio.sleep(0)`` (one pass of the loop), Events and futures, so the answer is the
same on every run. The only clocks read are in ``slow_callback`` and ``interpreter_pool``,
where time is the thing measured.

Several features are newer than the course's own Python 3.11: eager tasks (3.12),
``Queue.shutdown`` (3.13), ``capture_call_graph``, ``python -m asyncio ps/pstree`` and
``InterpreterPoolExecutor`` (3.14). So every experiment runs in a *fresh interpreter*
(``lessons.probe``) of at least the version it needs: the course's own interpreter when it is
new enough, else the newest one ``lessons.pythons`` finds (``interpreters()``): Debian's
python3.15 that ``make newest-python`` installs, the free-threaded build of ``make
freethreaded`` and any listed in the environment variable ``COURSEKIT_PYTHONS`` (paths
separated by ``os.pathsep``). With none new enough, the experiment returns ``{"skipped": "skipped: <reason>"}`` instead of failing.

Use::

    from lessons import modern_asyncio as m
    m.eager_order()      # {"python": "3.15.0...", "lazy": [...], "eager": [...]}
    m.lost_update()      # {"without_lock": 1, "with_lock": 50, "tasks": 50, ...}
    m.run_everywhere("start_method")   # one answer per interpreter found

``main(argv)`` is what runs in the child: ``main(["eager_order"])`` prints one JSON line.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
import json
import logging
import os
import re
import subprocess
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import probe, pythons

Result = dict[str, Any]

#: Where wedged_service.py is: run as a script by ``introspect_wedged``.
WEDGED_SERVICE = Path(__file__).resolve().parent / "wedged_service.py"


# --- finding an interpreter new enough --------------------------------------------------------

# One finder for every lesson: lessons.pythons (this one, the free-threaded build, the
# interpreter of `make newest-python`, $COURSEKIT_PYTHONS). These names are kept for the cells.

def _version_of(python: str) -> tuple[int, int, int] | None:
    return pythons.version(python)


def interpreters() -> list[tuple[str, tuple[int, int, int]]]:
    """Every interpreter found, oldest first, as ``(path, (major, minor, micro))``:
    ``lessons.pythons.interpreters()``."""
    return [(i.path, i.version) for i in pythons.interpreters()]


def pick(min_version: tuple[int, int]) -> str | None:
    """The interpreter to run an experiment needing ``min_version``: this one if new enough,
    else the newest found (``lessons.pythons.pick``), else None."""
    return pythons.pick(min_version)


def skipped(min_version: tuple[int, int], python: str | None = None) -> Result:
    """The answer of an experiment that could not run: ``{"skipped": "skipped: <reason>"}``."""
    need = ".".join(map(str, min_version))
    if python is not None:
        version = _version_of(python)
        have = "does not run" if version is None else "is " + ".".join(map(str, version))
        return {"skipped": f"skipped: needs Python {need}+ and {python} {have}"}
    return {"skipped": pythons.skip_reason(min_version)}


def run_experiment(name: str, *, python: str | None = None, min_version: tuple[int, int] = (3, 11),
                   timeout: float = 120.0) -> Result:
    """Run experiment ``name`` (a function of this module) in a fresh interpreter: ``python``,
    or the one ``pick(min_version)`` chooses. Returns its JSON answer, or ``skipped(...)``."""
    python = python or pick(min_version)
    version = None if python is None else _version_of(python)
    if python is None or version is None or version[:2] < min_version:
        return skipped(min_version, python)
    code = f"import sys; from lessons.{__name__.rsplit('.', 1)[-1]} import main; main(sys.argv[1:])"
    done = subprocess.run([python, "-c", code, name], capture_output=True, text=True,
                          timeout=timeout, env=probe.child_env())
    if done.returncode != 0:
        raise RuntimeError(f"experiment {name!r} failed under {python}:\n{done.stderr.strip()}")
    return probe.last_json_line(done.stdout)


def run_everywhere(name: str, min_version: tuple[int, int] = (3, 11)) -> list[Result]:
    """Run experiment ``name`` once under every interpreter ``interpreters()`` finds that is
    at least ``min_version``."""
    return [run_experiment(name, python=path) for path, version in interpreters()
            if version[:2] >= min_version]


def _here() -> Result:
    return {"python": sys.version.split()[0],
            "free_threaded": bool(getattr(sys, "_is_gil_enabled", lambda: True)() is False)}


# --- eager tasks (3.12) -----------------------------------------------------------------------

def _eager_order_here() -> Result:
    def one(eager: bool) -> list[str]:
        events: list[str] = []

        async def child() -> None:
            events.append("child: first line")
            await asyncio.sleep(0)
            events.append("child: after its first await")

        async def main() -> None:
            if eager:
                asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
            task = asyncio.create_task(child())
            events.append("create_task returned")
            await task
        asyncio.run(main())
        return events

    def round_robin(eager: bool) -> str:
        order: list[str] = []

        async def worker(name: str) -> None:
            for i in range(3):
                order.append(f"{name}{i}")
                await asyncio.sleep(0)  # yield: every other ready task runs once first

        async def main() -> None:
            if eager:
                asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)
            tasks = [asyncio.create_task(worker(n)) for n in "ABC"]
            await asyncio.gather(*tasks)
        asyncio.run(main())
        return "".join(order)

    async def finished_at_once() -> bool:
        # A coroutine that returns without awaiting is *done* when create_task returns.
        asyncio.get_running_loop().set_task_factory(asyncio.eager_task_factory)

        async def quick() -> int:
            return 42
        return asyncio.create_task(quick()).done()

    return {**_here(), "lazy": one(False), "eager": one(True),
            "round_robin_lazy": round_robin(False), "round_robin_eager": round_robin(True),
            "eager_done_at_return": asyncio.run(finished_at_once())}


def eager_order() -> Result:
    """Order of events: ``create_task`` returning vs the coroutine's first line, with the
    default (lazy) task factory and with ``asyncio.eager_task_factory`` (3.12+); and the
    round-robin order of three tasks that each ``await asyncio.sleep(0)`` three times."""
    return run_experiment("eager_order", min_version=(3, 12))


# --- lost update at an await ------------------------------------------------------------------

def _lost_update_here() -> Result:
    async def count(n: int, lock: asyncio.Lock | None) -> int:
        state = {"v": 0}

        async def bump() -> None:
            x = state["v"]
            await asyncio.sleep(0)   # any await: here every other bump() runs and reads v too
            state["v"] = x + 1

        async def bump_locked() -> None:
            assert lock is not None
            async with lock:         # read, await, write: nobody else in between
                await bump()

        await asyncio.gather(*(bump_locked() if lock else bump() for _ in range(n)))
        return state["v"]

    async def overdraw(n: int) -> int:
        # check-then-act with an await between the check and the act (task 07.2 fixes it)
        account = {"balance": 100}

        async def audit() -> None:
            await asyncio.sleep(0)

        async def withdraw(amount: int) -> None:
            if account["balance"] >= amount:
                await audit()
                account["balance"] -= amount

        await asyncio.gather(*(withdraw(10) for _ in range(n)))
        return account["balance"]

    return {**_here(), "tasks": 50, "without_lock": asyncio.run(count(50, None)),
            "with_lock": asyncio.run(_with_lock(count)), "balance_after_50_withdrawals_of_10": asyncio.run(overdraw(50))}


async def _with_lock(count: Callable[..., Any]) -> int:
    return await count(50, asyncio.Lock())  # the Lock is made inside the running loop


def lost_update() -> Result:
    """50 tasks each do ``x = v; await sleep(0); v = x + 1``: without a lock every task reads
    0 and v ends at 1; with ``asyncio.Lock`` it ends at 50. And 50 withdrawals of 10 from 100
    with an awaited audit between the check and the debit: the balance goes negative."""
    return run_experiment("lost_update")


# --- TaskGroup vs gather ----------------------------------------------------------------------

def _taskgroup_here() -> Result:
    out: Result = dict(_here())

    async def fails(exc: Exception) -> None:
        await asyncio.sleep(0)
        raise exc

    async def sibling(seen: list[str], release: asyncio.Event) -> str:
        try:
            await release.wait()
            seen.append("finished")
            return "sibling finished"
        except asyncio.CancelledError:
            seen.append("CancelledError")
            raise

    async def with_group() -> None:
        seen: list[str] = []
        release = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(sibling(seen, release))
                group.create_task(fails(ValueError("bad value")))
                group.create_task(fails(KeyError("missing")))
        except* ValueError as eg:
            out["except_star_ValueError"] = [repr(e) for e in eg.exceptions]
        except* KeyError as eg:
            out["except_star_KeyError"] = [repr(e) for e in eg.exceptions]
        out["taskgroup_sibling_saw"] = seen

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(fails(ValueError("bad value")))
                group.create_task(fails(KeyError("missing")))
        except BaseException as eg:  # noqa: BLE001 - we look at what comes out
            out["taskgroup_raises"] = type(eg).__name__
            out["group_contents"] = sorted(type(e).__name__ for e in eg.exceptions)  # type: ignore[attr-defined]

    async def with_gather() -> None:
        seen: list[str] = []
        release = asyncio.Event()
        survivor = asyncio.ensure_future(sibling(seen, release))
        try:
            await asyncio.gather(survivor, fails(ValueError("bad value")))
        except BaseException as exc:  # noqa: BLE001
            out["gather_raises"] = type(exc).__name__
        out["gather_sibling_done_after_raise"] = survivor.done()
        release.set()                 # nobody cancelled it: it runs on and finishes
        out["gather_sibling_result"] = await survivor
        out["gather_sibling_saw"] = seen

    asyncio.run(with_group())
    asyncio.run(with_gather())
    return out


def taskgroup_vs_gather() -> Result:
    """A TaskGroup whose child fails cancels its siblings (they see CancelledError) and
    raises an ExceptionGroup of every failure, which ``except*`` splits by type; ``gather``
    raises the first exception and leaves the siblings running."""
    return run_experiment("taskgroup_vs_gather")


# --- timeout(), cancel/uncancel counting, shield ----------------------------------------------

def _timeouts_here() -> Result:
    out: Result = dict(_here())

    async def forever() -> None:
        await asyncio.Event().wait()

    async def expires() -> None:
        task = asyncio.current_task()
        assert task is not None
        counts = []
        try:
            # timeout(0): the deadline has passed, so the loop calls its handler on the next
            # pass (Timeout.reschedule, Lib/asyncio/timeouts.py): no clock is involved.
            async with asyncio.timeout(0):
                try:
                    await forever()
                except asyncio.CancelledError:
                    counts.append(task.cancelling())   # 1: the timeout's own cancel()
                    raise
        except TimeoutError:
            counts.append(task.cancelling())           # 0: __aexit__ uncancel()ed it
            out["timeout_raises"] = "TimeoutError"
        out["cancelling_inside_then_after"] = counts

    async def nested() -> None:
        task = asyncio.current_task()
        assert task is not None
        log = []
        async with asyncio.timeout(None):              # outer: no deadline
            try:
                async with asyncio.timeout(0):         # inner: expired
                    await forever()
            except TimeoutError:
                log.append(f"inner TimeoutError, cancelling={task.cancelling()}")
            log.append("outer block carries on")
        out["nested"] = log

    async def victim(log: list[str]) -> None:
        try:
            async with asyncio.timeout(0):
                await forever()
        except TimeoutError:
            log.append("TimeoutError")                 # would swallow the outer cancel
        except asyncio.CancelledError:
            log.append(f"CancelledError, cancelling={asyncio.current_task().cancelling()}")  # type: ignore[union-attr]
            raise

    async def outer_cancel() -> None:
        log: list[str] = []
        task = asyncio.create_task(victim(log))
        await asyncio.sleep(0)  # victim is now inside the block, awaiting forever()
        task.cancel()           # someone else cancels too, on the same pass as the timeout
        try:
            await task
            log.append("task returned")
        except asyncio.CancelledError:
            log.append("awaiting the task raised CancelledError")
        out["timeout_plus_outer_cancel"] = log

    async def shielded() -> None:
        log: list[str] = []
        release = asyncio.Event()

        async def inner() -> str:
            await release.wait()
            log.append("inner finished")
            return "inner result"

        inner_task = asyncio.create_task(inner())

        async def outer() -> None:
            await asyncio.shield(inner_task)

        outer_task = asyncio.create_task(outer())
        await asyncio.sleep(0)
        outer_task.cancel()
        try:
            await outer_task
        except asyncio.CancelledError:
            log.append("outer CancelledError")
        log.append(f"inner cancelled? {inner_task.cancelled()}")
        release.set()
        log.append(await inner_task)
        out["shield"] = log

    async def all_of_them() -> None:
        await expires()
        await nested()
        await outer_cancel()
        await shielded()

    asyncio.run(all_of_them())
    return out


def timeouts() -> Result:
    """``asyncio.timeout``: the count ``task.cancelling()`` inside and after an expiry,
    nested timeouts, an outer ``cancel()`` on the same pass as the expiry (it is *not*
    turned into TimeoutError), and ``shield`` keeping its inner task running."""
    return run_experiment("timeouts")


# --- strong references to tasks ---------------------------------------------------------------

def _strong_refs_here() -> Result:
    out: Result = dict(_here())
    background: set[asyncio.Task[None]] = set()

    async def waits_on_its_own_future() -> None:
        # The future is reachable only from this task's frame: a cycle nobody outside holds.
        await asyncio.get_running_loop().create_future()

    async def sleeps() -> None:
        await asyncio.sleep(3600)  # the loop's timer heap holds the future, hence the task

    async def main(case: str) -> Result:
        errors: list[str] = []
        asyncio.get_running_loop().set_exception_handler(lambda loop, ctx: errors.append(ctx["message"]))
        task = asyncio.create_task(sleeps() if case == "sleep" else waits_on_its_own_future())
        if case == "kept":
            background.add(task)
            task.add_done_callback(background.discard)
        ref = weakref.ref(task)
        del task                  # "fire and forget": no reference kept
        await asyncio.sleep(0)    # it runs up to its await
        gc.collect()
        await asyncio.sleep(0)
        alive = ref() is not None
        if alive:
            ref().cancel()        # type: ignore[union-attr]
            await asyncio.sleep(0)
        return {"alive_after_gc": alive, "loop_errors": errors}

    for case in ("unreferenced", "kept", "sleep"):
        out[case] = asyncio.run(main(case))
    return out


def strong_refs() -> Result:
    """A task created and not referenced, awaiting a future only it can reach, is collected
    by ``gc.collect()`` while pending ("Task was destroyed but it is pending!"); kept in a set
    with ``add_done_callback(set.discard)`` it survives; one sleeping is held by the loop."""
    return run_experiment("strong_refs")


# --- contextvars per task ---------------------------------------------------------------------

def _contextvars_here() -> Result:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

    async def handler(name: str) -> str:
        inherited = request_id.get()
        request_id.set(name)
        await asyncio.sleep(0)         # every other handler sets its own value meanwhile
        return f"{name}: inherited {inherited}, sees {request_id.get()}"

    async def main() -> Result:
        request_id.set("parent")
        seen = await asyncio.gather(*(handler(n) for n in ("a", "b", "c")))
        return {"children": list(seen), "parent_after": request_id.get()}

    return {**_here(), **asyncio.run(main())}


def contextvars_per_task() -> Result:
    """Each Task runs in a copy of the context current when it was created
    (``contextvars.copy_context()`` in ``Task.__init__``): children inherit the parent's
    value, their own ``set()`` stays theirs, and the parent's value is unchanged."""
    return run_experiment("contextvars_per_task")


# --- Queue.shutdown (3.13) --------------------------------------------------------------------

def _queue_shutdown_here() -> Result:
    async def case(immediate: bool) -> Result:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for item in (1, 2, 3):
            queue.put_nowait(item)
        got: list[Any] = []

        async def consumer() -> None:
            while True:
                try:
                    got.append(await queue.get())
                except asyncio.QueueShutDown:  # type: ignore[attr-defined]
                    got.append("QueueShutDown")
                    return
                queue.task_done()
                if len(got) == 1:
                    await asyncio.sleep(0)    # let the producer shut down after one item

        task = asyncio.create_task(consumer())
        await asyncio.sleep(0)                 # the consumer took item 1
        queue.shutdown(immediate=immediate)
        try:
            queue.put_nowait(4)
            put = "accepted"
        except asyncio.QueueShutDown:  # type: ignore[attr-defined]
            put = "QueueShutDown"
        await task
        return {"consumer_got": got, "put_after_shutdown": put, "qsize_at_end": queue.qsize()}

    async def blocked_getter() -> str:
        queue: asyncio.Queue[int] = asyncio.Queue()
        getter = asyncio.create_task(queue.get())
        await asyncio.sleep(0)                 # the getter now waits on an empty queue
        queue.shutdown()
        try:
            await getter
            return "returned"
        except asyncio.QueueShutDown:  # type: ignore[attr-defined]
            return "QueueShutDown"

    return {**_here(), "shutdown": asyncio.run(case(False)), "immediate": asyncio.run(case(True)),
            "blocked_getter": asyncio.run(blocked_getter())}


def queue_shutdown() -> Result:
    """``Queue.shutdown()`` (3.13+): puts raise QueueShutDown at once; getters drain what is
    left, then get QueueShutDown. ``immediate=True`` drops what is left."""
    return run_experiment("queue_shutdown", min_version=(3, 13))


# --- debug mode: slow callbacks ---------------------------------------------------------------

def _slow_callback_here() -> Result:
    messages: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("asyncio")
    logger.addHandler(Keep())
    logger.setLevel(logging.WARNING)

    def busy(seconds: float) -> None:
        # Busy-wait on purpose: this callback *is* the slow thing being measured.
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            pass

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.slow_callback_duration = 0.01
        loop.call_soon(busy, 0.05)
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(main(), debug=True)
    slow = [m for m in messages if re.match(r"Executing <Handle .*> took \d+\.\d{3} seconds", m)]
    took = [float(re.search(r"took (\d+\.\d+) seconds", m).group(1)) for m in slow]  # type: ignore[union-attr]
    return {**_here(), "warnings": slow, "took_seconds": took, "threshold": 0.01, "busy": 0.05}


def slow_callback() -> Result:
    """Debug mode (``asyncio.run(..., debug=True)``) logs every callback that runs longer than
    ``loop.slow_callback_duration``: here 0.01 s, and a callback that busy-waits 0.05 s."""
    return run_experiment("slow_callback")


# --- 3.14: capture_call_graph -----------------------------------------------------------------

def _call_graph_here() -> Result:
    out: Result = dict(_here())

    async def leaf(release: asyncio.Event) -> None:
        await release.wait()

    async def inspect_from_inside(target: asyncio.Task[None], release: asyncio.Event) -> None:
        graph = asyncio.capture_call_graph(target)
        assert graph is not None
        out["future"] = graph.future.get_name()
        out["frames"] = [entry.frame.f_code.co_name for entry in graph.call_stack]
        out["awaited_by"] = [g.future.get_name() for g in graph.awaited_by
                             if isinstance(g.future, asyncio.Task)]
        out["text"] = asyncio.format_call_graph(target)
        release.set()

    async def service() -> None:
        release = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            target = group.create_task(leaf(release), name="leaf")
            await asyncio.sleep(0)            # leaf is now suspended in Event.wait
            group.create_task(inspect_from_inside(target, release), name="inspector")

    async def main() -> None:
        asyncio.current_task().set_name("service")  # type: ignore[union-attr]
        await service()

    asyncio.run(main())
    return out


def call_graph() -> Result:
    """``asyncio.capture_call_graph(task)`` and ``format_call_graph`` (3.14+,
    Lib/asyncio/graph.py) inside a running program: a task's own await stack and who awaits it."""
    return run_experiment("call_graph", min_version=(3, 14))


# --- 3.14: python -m asyncio ps / pstree on a wedged service ----------------------------------

_ROW = re.compile(r"^(\d+)\s+(0x[0-9a-f]+)\s+(\S+)\s+(.*?)\s+(0x[0-9a-f]+)\s*$")


def parse_ps(text: str) -> list[dict[str, str]]:
    """The rows of ``python -m asyncio ps`` (``display_awaited_by_tasks_table`` in
    Lib/asyncio/tools.py at v3.15.0rc1) as dicts with keys ``task``, ``stack``,
    ``awaiter_chain``, ``awaiter`` and ``awaiter_id``.

    The columns are padded to a width, not separated, and a stack longer than its width
    pushes the next column right, so the line is cut into words instead: inside a stack every
    space sits next to an ``->`` (``a -> b``), so a word that does not follow ``->`` starts
    the next column. Task names are taken to have no spaces (those of wedged_service.py have
    none). A task nobody awaits has blank awaiter columns and awaiter id 0x0.
    """
    rows = []
    for line in text.splitlines():
        match = _ROW.match(line)
        if not match:
            continue
        _tid, _task_id, name, middle, awaiter_id = match.groups()
        columns: list[list[str]] = []
        after_arrow = False
        for word in middle.split():
            if word == "->":
                after_arrow = True
            elif after_arrow and columns:
                columns[-1].append(word)
                after_arrow = False
            else:
                columns.append([word])
        awaiter = columns.pop()[0] if awaiter_id != "0x0" and columns else ""
        stack, chain = (columns + [[], []])[:2]
        rows.append({"task": name, "stack": " -> ".join(stack), "awaiter_chain": " -> ".join(chain),
                     "awaiter": awaiter, "awaiter_id": awaiter_id})
    return rows


def _try_remote_exec(pid: int) -> str:
    """Ask ``pid`` to run a script with ``sys.remote_exec`` (PEP 768, 3.14+): "accepted" or
    the error. The script does nothing; an idle service would run it only when it wakes."""
    import tempfile
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as script:
        script.write("pass\n")
    try:
        sys.remote_exec(pid, script.name)  # type: ignore[attr-defined]
        return "accepted"
    except Exception as exc:  # noqa: BLE001 - the error is the answer
        return f"{type(exc).__name__}: {exc}"
    finally:
        os.unlink(script.name)


def _introspect_here() -> Result:
    out: Result = dict(_here())
    for mode, extra_env in (("events", {}), ("cycle", {}),
                            ("events_remote_debug_disabled", {"PYTHON_DISABLE_REMOTE_DEBUG": "1"})):
        args = ["--cycle"] if mode == "cycle" else []
        env = probe.child_env(**extra_env)
        service = subprocess.Popen([sys.executable, str(WEDGED_SERVICE), *args], env=env,
                                   stdout=subprocess.PIPE, text=True)
        try:
            ready = service.stdout.readline().split()  # type: ignore[union-attr]
            if ready[:1] != ["ready"]:
                raise RuntimeError(f"wedged_service printed {ready!r} instead of 'ready <pid>'")
            pid = ready[1]
            result: Result = {}
            for command in ("ps", "pstree"):
                done = subprocess.run([sys.executable, "-m", "asyncio", command, pid],
                                      capture_output=True, text=True, timeout=60)
                result[command] = {"returncode": done.returncode, "stdout": done.stdout,
                                   "stderr": done.stderr}
            result["ps_rows"] = parse_ps(result["ps"]["stdout"])
            result["remote_exec"] = _try_remote_exec(int(pid))
            result["service_still_running"] = service.poll() is None
        finally:
            service.kill()
            service.wait()
            service.stdout.close()  # type: ignore[union-attr]
        out[mode] = result
    return out


def introspect_wedged() -> Result:
    """Start ``wedged_service.py`` under Python 3.14+, wait for its ``ready <pid>`` line, run
    ``python -m asyncio ps <pid>`` and ``pstree <pid>`` on it, kill it. Three services: the
    Event deadlock, the await cycle (``--cycle``), and the Event deadlock started with
    ``PYTHON_DISABLE_REMOTE_DEBUG=1``."""
    return run_experiment("introspect_wedged", min_version=(3, 14), timeout=300)


# --- 3.14: InterpreterPoolExecutor ------------------------------------------------------------

def cpu_work(n: int) -> tuple[int, int]:
    """CPU-bound work for the pool: (this interpreter's id, sum of i*i below n)."""
    from concurrent import interpreters as subinterpreters  # 3.14+, PEP 734
    total = 0
    for i in range(n):
        total += i * i
    return subinterpreters.get_current().id, total


def _interpreter_pool_here() -> Result:
    from concurrent.futures import InterpreterPoolExecutor  # 3.14+
    from concurrent import interpreters as subinterpreters

    jobs, n = 4, 3_000_000
    out: Result = {**_here(), "main_interpreter_id": subinterpreters.get_current().id,
                   "cpus": os.cpu_count()}
    for workers in (1, 2):
        start = time.perf_counter()
        with InterpreterPoolExecutor(max_workers=workers) as pool:
            results = list(pool.map(cpu_work, [n] * jobs))
        out[f"seconds_{workers}_workers"] = time.perf_counter() - start
        out[f"interpreter_ids_{workers}_workers"] = sorted({i for i, _ in results})
        out[f"sums_agree_{workers}_workers"] = len({s for _, s in results}) == 1
    out["speedup"] = out["seconds_1_workers"] / out["seconds_2_workers"]
    return out


def interpreter_pool() -> Result:
    """``concurrent.futures.InterpreterPoolExecutor`` (3.14+): each worker thread runs its own
    interpreter (its own GIL, PEP 684/734). Four CPU-bound jobs with 1 worker and with 2:
    which interpreter ids ran them, and the time each took."""
    return run_experiment("interpreter_pool", min_version=(3, 14), timeout=300)


# --- multiprocessing's default start method ---------------------------------------------------

def _start_method_here() -> Result:
    import multiprocessing
    process = multiprocessing.Process(target=os.getpid)  # any picklable target will do
    process.start()
    process.join()
    return {**_here(), "default": multiprocessing.get_start_method(),
            "popen_module": type(process._popen).__module__.rsplit(".", 1)[-1],  # type: ignore[attr-defined]
            "exitcode": process.exitcode}


def start_method() -> list[Result]:
    """multiprocessing's default start method, read live under every interpreter found:
    'fork' on Linux up to 3.13, 'forkserver' from 3.14 (Lib/multiprocessing/context.py)."""
    return run_everywhere("start_method")


# --- the child side ---------------------------------------------------------------------------

EXPERIMENTS: dict[str, Callable[[], Result]] = {
    "eager_order": _eager_order_here,
    "lost_update": _lost_update_here,
    "taskgroup_vs_gather": _taskgroup_here,
    "timeouts": _timeouts_here,
    "strong_refs": _strong_refs_here,
    "contextvars_per_task": _contextvars_here,
    "queue_shutdown": _queue_shutdown_here,
    "slow_callback": _slow_callback_here,
    "call_graph": _call_graph_here,
    "introspect_wedged": _introspect_here,
    "interpreter_pool": _interpreter_pool_here,
    "start_method": _start_method_here,
}


def main(argv: list[str]) -> None:
    """Run one experiment in this interpreter and print its answer as one JSON line."""
    if len(argv) != 1 or argv[0] not in EXPERIMENTS:
        raise SystemExit(f"usage: main([name]) with name one of {', '.join(EXPERIMENTS)}")
    print(json.dumps(EXPERIMENTS[argv[0]]()))
