"""Real asyncio's internals, watched live: a call trace, the EMFILE back-off, the version map.

Lesson 07 maps the course's toy loop, Future and Task onto CPython's ``asyncio``. This module
holds the three experiments and the data the lesson shows:

- ``trace_server(python)`` starts a Unix-socket echo server with ``loop.create_unix_server``
  in a fresh interpreter, connects one client, exchanges a line and closes, while every call
  into ``Lib/asyncio/*.py`` (and ``Lib/selectors.py``) is recorded: with ``sys.monitoring``
  (PEP 669, PY_START events) on 3.12+, with ``sys.setprofile`` before. ``seed_names(trace)``
  picks out the names the
  seed notes quote (``_UnixSelectorEventLoop``, ``create_unix_server``, ``_start_serving``,
  ``_accept_connection``, ``_add_reader``), in order, with their callers.
- ``emfile_backoff()`` fills a child's descriptor table (RLIMIT_NOFILE lowered) so that
  ``accept()`` fails with EMFILE, and records what ``BaseSelectorEventLoop._accept_connection``
  does: it logs "socket.accept() out of system resource", removes the listening socket's
  reader, and schedules ``_start_serving`` again ``constants.ACCEPT_RETRY_DELAY`` (1 s) later.
  After the descriptors are freed, the waiting connection is accepted. The branch does not
  ``return``: the accept loop goes on, so one readiness event logs and schedules a retry up
  to ``backlog`` times (gh-151615; fixed on CPython's main in 2026-07, in no tag read).
  ``emfile_summary(result)`` reads the facts off the recorded events.
  ``backlog_accepts()`` shows the other half of that function: one readiness event accepts
  up to ``backlog`` connections (``backlog + 1`` from 3.14, gh-90871) in one call.
- ``VERSION_MAP`` (what each part of the toy is in asyncio at five tags, and in the C
  accelerator ``Modules/_asynciomodule.c``) and ``POLICY_HISTORY`` (what became of the
  Unix event-loop policy and the child watchers) were read from CPython's source at the tags
  in ``TAGS``; ``tests/kit/test_lessons_asyncio_internals.py`` re-reads them from a mirror.
  ``live_names()`` checks the running interpreter(s) against the history, and
  ``c_task_speed()`` measures what the C ``Task`` is worth against ``tasks._PyTask``.

Why every experiment runs in a child interpreter: a trace must see asyncio from the first
call (a kernel has its own loop running, and its own imports), a lowered RLIMIT_NOFILE and a
full descriptor table must not touch the notebook's kernel, and the same code must run under
other Pythons (the free-threaded 3.15 the course builds). So each child program is a plain
function of this module that imports only the stdlib; ``_run_child`` sends its source to
``python -c`` and reads back one line of JSON (``lessons.probe.run_code``).

Why each recorded call is marked "start" or "resume": ``sys.setprofile``'s "call" event
fires each time a generator or coroutine frame is resumed, not only when it starts, while
``sys.monitoring`` separates PY_START from PY_RESUME. Under setprofile a start is told apart
by the instruction the frame stands at: ``RESUME 0`` (function start) against ``RESUME 1-3``
(after a yield, a yield from, an await; ``dis`` documentation of RESUME, 3.11). With the
mark, both tools give the same list of starts, and the summaries read starts only.
"""

from __future__ import annotations

import inspect
import json
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from lessons import probe, pythons

__all__ = [
    "TAGS", "SEED_NAMES", "VERSION_MAP", "POLICY_NAMES", "POLICY_HISTORY", "POLICY_DOCSTRINGS",
    "SOURCES", "interpreters", "newest_python", "trace_server", "seed_names", "policy_calls",
    "call_counts", "emfile_backoff", "emfile_summary", "backlog_accepts",
    "expected_backlog_split", "live_names", "live_mismatches", "tag_for", "c_task_speed",
]

#: The CPython tags the tables were read at (``git show <tag>:Lib/asyncio/...``).
TAGS: tuple[str, ...] = ("v3.11.9", "v3.12.0", "v3.13.0", "v3.14.0", "v3.15.0rc1")

#: The seed's names as the trace spells them (qualified names), in the order a server
#: starts and accepts.
SEED_NAMES: tuple[str, ...] = (
    "_UnixSelectorEventLoop.__init__",
    "_UnixSelectorEventLoop.create_unix_server",
    "BaseSelectorEventLoop._start_serving",
    "BaseSelectorEventLoop._add_reader",
    "BaseSelectorEventLoop._accept_connection",
)


# ---------------------------------------------------------------------- running a child

def _run_child(func: Callable[..., None], config: dict[str, Any], *, python: str | None = None,
               timeout: float = 120.0) -> Any:
    """Run the module-level ``func(config_json)`` in a fresh interpreter; return its JSON.

    ``func`` must be self-contained (stdlib imports inside it): only its source travels."""
    source = inspect.getsource(func)
    # The future import keeps the child's annotations unevaluated: it has no `Any`.
    call = f"{func.__name__}({json.dumps(json.dumps(config))})"
    code = f"from __future__ import annotations\n{source}\n{call}\n"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONASYNCIODEBUG")}
    return probe.run_code(python or sys.executable, code, timeout=timeout, env=env)


def interpreters() -> list[tuple[str, tuple[int, ...]]]:
    """(path, version) of the interpreters found, oldest first: ``lessons.pythons.interpreters()``
    (this one, the free-threaded build, ``make newest-python``'s, ``$COURSEKIT_PYTHONS``)."""
    return [(i.path, i.version) for i in pythons.interpreters()]


def newest_python(at_least: tuple[int, int] = (3, 15)) -> str | None:
    """The newest interpreter found whose version is ``at_least`` or newer, else None."""
    newer = [path for path, version in interpreters() if version[:2] >= at_least]
    return newer[-1] if newer else None


# ---------------------------------------------------------------------- 1. the live call trace

def _trace_child(config_json: str) -> None:
    """(child) Trace an echo server on a Unix socket; print the calls into asyncio as JSON."""
    import asyncio
    import dis
    import json
    import os
    import sys
    import tempfile

    import selectors

    config = json.loads(config_json)
    root = os.path.dirname(asyncio.__file__) + os.sep
    lib = os.path.dirname(os.path.dirname(asyncio.__file__)) + os.sep
    calls: list[list[Any]] = []
    base = [0]
    starts: dict[Any, frozenset[int]] = {}

    def depth(frame: Any) -> int:
        n = 0
        while frame is not None:
            n += 1
            frame = frame.f_back
        return n - base[0]

    def record(frame: Any, kind: str) -> None:
        back = frame.f_back
        calls.append([frame.f_code.co_qualname, frame.f_code.co_filename[len(lib):], depth(frame),
                      back.f_code.co_qualname if back is not None else None, kind])

    def ours(code: Any) -> bool:
        # asyncio's files, and selectors.py: where the epoll registration happens
        return code.co_filename.startswith(root) or code.co_filename == selectors.__file__

    use_monitoring = hasattr(sys, "monitoring") and not config.get("force_setprofile")
    if use_monitoring:
        mon = sys.monitoring
        tool = mon.PROFILER_ID

        def on_start(code: Any, offset: int) -> Any:
            if ours(code):
                record(sys._getframe(1), "start")
            return None

        def on_resume(code: Any, offset: int) -> Any:
            if ours(code):
                record(sys._getframe(1), "resume")
            return None

        def begin() -> None:
            mon.use_tool_id(tool, "asyncio_internals trace")
            mon.register_callback(tool, mon.events.PY_START, on_start)
            mon.register_callback(tool, mon.events.PY_RESUME, on_resume)
            mon.set_events(tool, mon.events.PY_START | mon.events.PY_RESUME)

        def end() -> None:
            mon.set_events(tool, 0)
            mon.free_tool_id(tool)
    else:
        def start_offsets(code: Any) -> frozenset[int]:
            # RESUME 0 marks a function's start; RESUME 1-3 a return from yield or await.
            if code not in starts:
                starts[code] = frozenset(i.offset for i in dis.get_instructions(code)
                                         if i.opname == "RESUME" and i.arg == 0)
            return starts[code]

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event == "call" and ours(frame.f_code):
                record(frame, "start" if frame.f_lasti in start_offsets(frame.f_code) else "resume")

        def begin() -> None:
            sys.setprofile(profile)

        def end() -> None:
            sys.setprofile(None)

    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.transport.write(data)

    seen: dict[str, str] = {}

    async def main(path: str) -> bytes:
        loop = asyncio.get_running_loop()
        seen["loop"], seen["selector"] = type(loop).__name__, type(loop._selector).__name__
        server = await loop.create_unix_server(Echo, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"hello\n")
        # 60 s: a safety net that turns a broken socket into a failure, never a pace.
        line = await asyncio.wait_for(reader.readline(), 60)
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return line

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "echo.sock")
        base[0] = depth(sys._getframe()) + 1      # asyncio.run is called at depth 1
        begin()
        try:
            line = asyncio.run(main(path))
        finally:
            end()
    print(json.dumps({"python": sys.version.split()[0], "version": list(sys.version_info[:2]),
                      "tool": "sys.monitoring" if use_monitoring else "sys.setprofile",
                      "echoed": line.decode(), **seen, "calls": calls}))


def trace_server(python: str | None = None, *, force_setprofile: bool = False) -> dict[str, Any]:
    """Trace a Unix-socket echo server's start, one client's line, and the close.

    Returns ``{"python", "version", "tool", "echoed", "loop", "selector", "calls"}`` (``loop``
    and ``selector``: the class names of the running loop and its selector); each call is
    ``[qualname, file under Lib ("asyncio/unix_events.py"), depth, caller's qualname,
    "start" | "resume"]``, in the order they happened (depth 1 is ``asyncio.run``). Calls into
    ``Lib/asyncio/*.py`` and ``Lib/selectors.py`` are recorded. ``python``: another interpreter."""
    return _run_child(_trace_child, {"force_setprofile": force_setprofile}, python=python)


def seed_names(trace: dict[str, Any], names: Iterable[str] = SEED_NAMES) -> list[dict[str, Any]]:
    """Every start of one of ``names`` in ``trace``, in trace order: ``index`` (position in
    the trace), ``name``, ``file``, ``depth`` and ``caller`` (the calling function)."""
    wanted = set(names)
    return [{"index": i, "name": name, "file": file, "depth": depth, "caller": caller}
            for i, (name, file, depth, caller, kind) in enumerate(trace["calls"])
            if kind == "start" and name in wanted]


def policy_calls(trace: dict[str, Any]) -> list[str]:
    """The distinct event-loop-policy methods the trace entered, in first-call order: which
    policy class made the loop (``_UnixDefaultEventLoopPolicy`` up to 3.13)."""
    seen: list[str] = []
    for name, _file, _depth, _caller, kind in trace["calls"]:
        if kind == "start" and "EventLoopPolicy" in name and name not in seen:
            seen.append(name)
    return seen


def call_counts(trace: dict[str, Any]) -> dict[str, int]:
    """How many times each function started, most frequent first."""
    counts: dict[str, int] = {}
    for name, _file, _depth, _caller, kind in trace["calls"]:
        if kind == "start":
            counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------------- 2. EMFILE and backlog

def _emfile_child(config_json: str) -> None:
    """(child) Make accept() fail with EMFILE on a 127.0.0.1 server; record the back-off."""
    import asyncio
    import errno
    import json
    import logging
    import os
    import resource
    import socket
    import sys
    from asyncio import constants

    config = json.loads(config_json)
    read_delay = constants.ACCEPT_RETRY_DELAY
    if config.get("retry_delay") is not None:
        # _accept_connection reads the module global at each call_later: patching works.
        constants.ACCEPT_RETRY_DELAY = config["retry_delay"]
    log: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            log.append(record.getMessage().splitlines()[0])

    logging.getLogger("asyncio").addHandler(Keep())
    logging.getLogger("asyncio").propagate = False
    events: list[dict[str, Any]] = []
    fillers: list[int] = []
    state: dict[str, Any] = {"failures": 0, "starts": 0, "accepted": 0}

    def finish_when_quiet() -> None:
        # Done once the connection is in and every scheduled retry has run: closing the
        # server earlier would leave retries to fire on a closed socket.
        if state["accepted"] and state["starts"] == 1 + state["failures"] and not state["future"].done():
            state["future"].set_result(None)

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            events.append({"what": "accepted", "at": loop.time()})
            state["accepted"] += 1
            transport.close()
            finish_when_quiet()

    class Loop(asyncio.SelectorEventLoop):
        # Record the calls; the work is asyncio's own code.
        def _accept_connection(self, *args: Any, **kwargs: Any) -> Any:
            events.append({"what": "_accept_connection", "at": self.time()})
            return super()._accept_connection(*args, **kwargs)

        def _start_serving(self, *args: Any, **kwargs: Any) -> Any:
            events.append({"what": "_start_serving", "at": self.time()})
            state["starts"] += 1
            result = super()._start_serving(*args, **kwargs)
            if state["starts"] > 1:
                finish_when_quiet()
            return result

    def look_then_free() -> None:
        # Runs on the pass after _accept_connection returned: what did it leave behind?
        retries = [h for h in loop._scheduled if not h.cancelled()
                   and getattr(h._callback, "__name__", "") == "_start_serving"]
        registered = {key.fd for key in loop._selector.get_map().values()}
        events.append({"what": "after", "at": loop.time(),
                       "reader_registered": state["listener_fd"] in registered,
                       "retry_in": [h.when() - loop.time() for h in retries]})
        for fd in fillers:                        # free the descriptors: the retry can accept
            os.close(fd)
        events.append({"what": "freed", "at": loop.time(), "count": len(fillers)})
        fillers.clear()

    def handler(lp: Any, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        events.append({"what": "exception_handler", "at": lp.time(), "message": context["message"],
                       "errno": errno.errorcode.get(getattr(exc, "errno", None) or 0)})
        lp.default_exception_handler(context)     # what asyncio does by default: log it
        if context["message"].startswith("socket.accept() out of system resource"):
            state["failures"] += 1
            if state["failures"] == 1:
                lp.call_soon(look_then_free)

    async def main() -> None:
        server = await loop.create_server(Server, "127.0.0.1", 0, backlog=config["backlog"])
        listener = server.sockets[0]
        state["listener_fd"] = listener.fileno()
        state["future"] = loop.create_future()
        client = socket.create_connection(listener.getsockname()[:2], timeout=60)
        # Fill the descriptor table; RLIMIT_NOFILE lowered so that this takes few files.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        highest = max(int(name) for name in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 16, hard))
        try:
            while True:
                fillers.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as exc:
            if exc.errno != errno.EMFILE:
                raise
        events.append({"what": "filled", "at": loop.time(), "count": len(fillers)})
        try:
            # 60 s: a safety net; the retry comes ACCEPT_RETRY_DELAY after the failure.
            await asyncio.wait_for(state["future"], 60)
        finally:
            client.close()
            for fd in fillers:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            server.close()
            await server.wait_closed()

    loop = Loop()
    loop.set_exception_handler(handler)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    print(json.dumps({"python": sys.version.split()[0], "version": list(sys.version_info[:2]),
                      "backlog": config["backlog"], "accept_retry_delay": read_delay,
                      "retry_delay_used": constants.ACCEPT_RETRY_DELAY,
                      "events": events, "log": log}))


def emfile_backoff(retry_delay: float | None = None, *, backlog: int = 3,
                   python: str | None = None) -> dict[str, Any]:
    """Run the EMFILE experiment in a fresh interpreter.

    ``retry_delay`` patches ``asyncio.constants.ACCEPT_RETRY_DELAY`` first (None keeps
    asyncio's 1 s); ``backlog`` is create_server's (it bounds _accept_connection's loop).
    Returns ``{"python", "version", "backlog", "accept_retry_delay" (as read),
    "retry_delay_used", "events", "log"}``; ``events`` are, in order, ``_start_serving``,
    ``filled``, ``_accept_connection``, ``exception_handler`` (message, errno), ``after``
    (``reader_registered``, ``retry_in``: the scheduled retry timers' delays), ``freed``,
    ``_start_serving`` (the retry), ``_accept_connection`` and ``accepted``, each with the
    loop time ``at``."""
    return _run_child(_emfile_child, {"retry_delay": retry_delay, "backlog": backlog}, python=python)


def emfile_summary(result: dict[str, Any]) -> dict[str, Any]:
    """The facts of one ``emfile_backoff()`` run, read from its events in order:

    ``failures`` (EMFILE handler calls during the first ``_accept_connection`` call),
    ``errnos``, ``messages``, ``reader_removed`` (the listening socket's reader was gone on
    the next pass), ``retries`` (retry timers then scheduled), ``retry_in`` (the smallest
    timer delay), ``waited`` (loop time from the first failure to the first retried
    ``_start_serving``), ``accepted_after_free`` (the connection came in after the
    descriptors were freed) and ``loop_bound`` (how many accepts one call may try:
    ``backlog``, or ``backlog + 1`` from 3.14)."""
    events = result["events"]
    kinds = [e["what"] for e in events]
    first_call = kinds.index("_accept_connection")
    after = kinds.index("after")
    failures = [e for e in events[first_call:after] if e["what"] == "exception_handler"]
    starts = [i for i, k in enumerate(kinds) if k == "_start_serving"]
    retry_start = next(i for i in starts if i > after)
    version = tuple(result["version"])
    return {
        "failures": len(failures),
        "errnos": sorted({e["errno"] for e in failures}),
        "messages": sorted({e["message"] for e in failures}),
        "reader_removed": not events[after]["reader_registered"],
        "retries": len(events[after]["retry_in"]),
        "retry_in": min(events[after]["retry_in"]),
        "waited": events[retry_start]["at"] - failures[0]["at"],
        "accepted_after_free": kinds.index("accepted") > kinds.index("freed"),
        "loop_bound": result["backlog"] + (1 if version >= (3, 14) else 0),
    }


def _backlog_child(config_json: str) -> None:
    """(child) Queue clients before the loop looks; count accepts per _accept_connection."""
    import asyncio
    import json
    import socket
    import sys

    config = json.loads(config_json)
    backlog, clients = config["backlog"], config["clients"]
    per_call: list[int] = []

    class Counting:
        """The listening socket as _accept_connection sees it, counting good accepts."""
        def __init__(self, sock: socket.socket) -> None:
            self._sock = sock

        def accept(self) -> Any:
            pair = self._sock.accept()            # raises BlockingIOError when the queue is empty
            per_call[-1] += 1
            return pair

        def __getattr__(self, name: str) -> Any:
            return getattr(self._sock, name)

    class Loop(asyncio.SelectorEventLoop):
        def _accept_connection(self, protocol_factory: Any, sock: Any, *args: Any, **kw: Any) -> Any:
            per_call.append(0)
            return super()._accept_connection(protocol_factory, Counting(sock), *args, **kw)

    accepted: list[int] = []

    class Server(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            accepted.append(1)
            transport.close()
            if len(accepted) == clients:
                all_in.set_result(None)

    async def main() -> None:
        server = await loop.create_server(Server, "127.0.0.1", 0, backlog=backlog)
        address = server.sockets[0].getsockname()[:2]
        # Blocking connects from this thread while the loop is *not* polling: the kernel
        # completes each handshake and queues it, so all are waiting at the first select.
        socks = [socket.create_connection(address, timeout=60) for _ in range(clients)]
        try:
            await asyncio.wait_for(all_in, 60)   # a safety net, never a pace
        finally:
            for s in socks:
                s.close()
            server.close()
            await server.wait_closed()

    loop = Loop()
    all_in = loop.create_future()
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    print(json.dumps({"python": sys.version.split()[0], "version": list(sys.version_info[:2]),
                      "backlog": backlog, "clients": clients, "per_call": per_call}))


def backlog_accepts(backlog: int = 4, clients: int | None = None, *,
                    python: str | None = None) -> dict[str, Any]:
    """Queue ``clients`` connections (default ``backlog + 1``: what Linux queues for
    ``listen(backlog)``) on a server made with ``create_server(..., backlog=backlog)`` before
    its loop polls; return how many each ``_accept_connection`` call accepted (``per_call``;
    the last call may count 0, when it stopped on an empty queue)."""
    clients = backlog + 1 if clients is None else clients
    return _run_child(_backlog_child, {"backlog": backlog, "clients": clients}, python=python)


def expected_backlog_split(version: Sequence[int], backlog: int, clients: int) -> list[int]:
    """The accepts per readiness event that the source predicts: ``range(backlog)`` up to
    3.13, ``range(backlog + 1)`` from 3.14 (selector_events.BaseSelectorEventLoop.
    _accept_connection; gh-90871, first in v3.14.0b2), zero-count calls left out."""
    per = backlog + 1 if tuple(version[:2]) >= (3, 14) else backlog
    split = []
    while clients > 0:
        split.append(min(per, clients))
        clients -= per
    return split


# ---------------------------------------------------------------------- 3. the version map

SOURCES: dict[str, str] = {
    "base": "Lib/asyncio/base_events.py",
    "events": "Lib/asyncio/events.py",
    "futures": "Lib/asyncio/futures.py",
    "tasks": "Lib/asyncio/tasks.py",
    "selector": "Lib/asyncio/selector_events.py",
    "unix": "Lib/asyncio/unix_events.py",
    "c": "Modules/_asynciomodule.c",
    "whatsnew312": "Doc/whatsnew/3.12.rst",
    "whatsnew314": "Doc/whatsnew/3.14.rst",
}


def _row(toy: str, file: str, python: str | dict[str, str], c: str | dict[str, str] = "",
         note: str = "") -> dict[str, Any]:
    """A VERSION_MAP row: ``python``/``c`` are one value for every tag, or {tag: value} with
    the tags that differ (the others keep the first tag's value)."""
    def per_tag(value: str | dict[str, str]) -> dict[str, str]:
        if isinstance(value, str):
            return {tag: value for tag in TAGS}
        out, last = {}, ""
        for tag in TAGS:
            last = value.get(tag, last)
            out[tag] = last
        return out
    return {"toy": toy, "file": SOURCES[file], "python": per_tag(python), "c": per_tag(c), "note": note}


#: What each part of the toy is in asyncio: the file, the functions at each tag (``a / b``:
#: both take part; ``a -> b``: a calls b), and the C accelerator's functions in
#: Modules/_asynciomodule.c ("" where the work stays in Python). Read from the mirror.
VERSION_MAP: list[dict[str, Any]] = [
    _row("ready queue (a deque of handles)", "base",
         "BaseEventLoop.__init__ / BaseEventLoop._call_soon",
         note="self._ready = collections.deque(); _call_soon appends an events.Handle"),
    _row("timer heap", "base", "BaseEventLoop.call_at / BaseEventLoop._run_once",
         note="heapq.heappush(self._scheduled, timer) in call_at; TimerHandle orders by _when"),
    _row("select timeout", "base", "BaseEventLoop._run_once",
         note="0 if anything is ready, else the first timer's delay, capped at "
              "MAXIMUM_SELECT_TIMEOUT (24 h); None with no timers"),
    _row("run_once (one pass)", "base", "BaseEventLoop._run_once -> BaseSelectorEventLoop._process_events",
         note="ntodo = len(self._ready): callbacks queued during the pass wait for the next"),
    _row("call_soon_threadsafe and the self-pipe", "base",
         {"v3.11.9": "BaseEventLoop.call_soon_threadsafe -> BaseSelectorEventLoop._write_to_self",
          "v3.14.0": "BaseEventLoop.call_soon_threadsafe -> BaseSelectorEventLoop._write_to_self "
                     "(events._ThreadSafeHandle)"},
         note="selector_events: _make_self_pipe is a socketpair whose read end has the reader "
              "_read_from_self"),
    _row("add_reader", "selector", "BaseSelectorEventLoop.add_reader -> BaseSelectorEventLoop._add_reader",
         note="v3.15.0rc1's _add_reader takes context= and returns the handle"),
    _row("Future callbacks", "futures", "Future.add_done_callback / Future.__schedule_callbacks",
         "_asyncio_Future_add_done_callback_impl / future_add_done_callback / future_schedule_callbacks",
         note="done callbacks are never called directly: each goes through loop.call_soon"),
    _row("Future.__await__ (yield self)", "futures", "Future.__await__",
         "future_new_iter / FutureIter_iternext / FutureIter_am_send",
         note="the C Future's __await__ returns a FutureIter, whose am_send slot resumes without "
              "raising StopIteration"),
    _row("Task step", "tasks",
         {"v3.11.9": "Task.__step", "v3.12.0": "Task.__step -> Task.__step_run_and_handle_result"},
         {"v3.11.9": "task_step / task_step_impl",
          "v3.12.0": "task_step / task_step_impl / task_step_handle_result_impl"},
         note="3.12 split the step so that eager tasks (What's New 3.12: gh-102853) can run the "
              "first step inline, in create_task"),
    _row("Task wakeup", "tasks", "Task.__wakeup",
         {"v3.11.9": "task_wakeup", "v3.14.0": "task_wakeup / task_wakeup_lock_held"},
         note="3.14's _lock_held variants: the free-threaded build takes the object's critical section"),
    _row("sleep(0): a bare yield", "tasks", "sleep -> __sleep0",
         "task_step_impl",
         note="__sleep0 yields None; the step sees None and reschedules itself with call_soon "
              "(task_call_step_soon in C)"),
    _row("cancel", "tasks", "Task.cancel / Future.cancel",
         "_asyncio_Task_cancel_impl / _asyncio_Future_cancel_impl / future_cancel",
         note="a Task's cancel asks its awaited future first (_fut_waiter); else _must_cancel"),
]

#: Names of the Unix event-loop policy and the child-watcher era, checked at every tag.
POLICY_NAMES: tuple[str, ...] = (
    "_UnixDefaultEventLoopPolicy", "DefaultEventLoopPolicy", "AbstractChildWatcher",
    "ThreadedChildWatcher", "PidfdChildWatcher", "SafeChildWatcher", "FastChildWatcher",
    "MultiLoopChildWatcher", "get_child_watcher",
)


def _history() -> dict[str, dict[str, str]]:
    before, public, gone = ("v3.11.9",), ("v3.12.0", "v3.13.0"), ("v3.14.0", "v3.15.0rc1")
    table: dict[str, dict[str, str]] = {name: {} for name in POLICY_NAMES}

    def put(name: str, tags: Sequence[str], state: str) -> None:
        for tag in tags:
            table[name][tag] = state

    put("_UnixDefaultEventLoopPolicy", before + public, "class")
    put("_UnixDefaultEventLoopPolicy", gone, "class (no child watcher)")
    put("DefaultEventLoopPolicy", before + public, "public")
    put("DefaultEventLoopPolicy", gone, "deprecated (module __getattr__ warns)")
    for name in ("ThreadedChildWatcher", "PidfdChildWatcher"):
        put(name, before + public, "public")
        put(name, gone, f"removed (private _{name} remains)")
    put("AbstractChildWatcher", before, "public")
    put("AbstractChildWatcher", public, "deprecated (subclassing warns)")
    for name in ("SafeChildWatcher", "FastChildWatcher", "MultiLoopChildWatcher"):
        put(name, before, "public")
        put(name, public, "deprecated (instantiation warns)")
    put("get_child_watcher", before, "public")
    put("get_child_watcher", public, "deprecated (calling warns)")
    for name in POLICY_NAMES[2:]:
        if name not in ("ThreadedChildWatcher", "PidfdChildWatcher"):
            put(name, gone, "removed")
    return table


#: {name: {tag: state}}: "public", "class", "deprecated (... warns)" (a DeprecationWarning
#: from warnings._deprecated, due for removal in 3.14, or for DefaultEventLoopPolicy in 3.16),
#: "removed". Sources: unix_events.py, events.py, asyncio/__init__.py at each tag;
#: Doc/whatsnew/3.12.rst (deprecations) and 3.14.rst (removals; the policy system deprecated).
POLICY_HISTORY: dict[str, dict[str, str]] = _history()

#: The docstring of _UnixDefaultEventLoopPolicy that the seed quotes, and when it changed.
POLICY_DOCSTRINGS: dict[str, str] = {
    **{tag: "UNIX event loop policy with a watcher for child processes."
       for tag in ("v3.11.9", "v3.12.0", "v3.13.0")},
    **{tag: "UNIX event loop policy" for tag in ("v3.14.0", "v3.15.0rc1")},
}


def _live_child(config_json: str) -> None:
    """(child) What this interpreter's asyncio has, and what warns when touched or used."""
    import asyncio
    import json
    import sys
    import warnings
    from asyncio import unix_events

    def use(name: str, obj: Any) -> None:
        # The use that warns at 3.12-3.13, per unix_events.py there: subclassing
        # AbstractChildWatcher, instantiating the Safe/Fast/MultiLoop watchers, calling
        # get_child_watcher(); for the others a harmless instantiation.
        if name == "AbstractChildWatcher":
            type("Mine", (obj,), {"__module__": "__main__"})
        elif name == "get_child_watcher":
            obj()
        elif isinstance(obj, type):
            instance = obj()
            getattr(instance, "close", lambda: None)()

    out: dict[str, Any] = {"python": sys.version.split()[0], "version": list(sys.version_info[:2]),
                           "free_threaded": not getattr(sys, "_is_gil_enabled", lambda: True)()}
    names: dict[str, Any] = {}
    for name in ("DefaultEventLoopPolicy", "AbstractChildWatcher", "ThreadedChildWatcher",
                 "PidfdChildWatcher", "SafeChildWatcher", "FastChildWatcher",
                 "MultiLoopChildWatcher", "get_child_watcher"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            present = hasattr(asyncio, name)
            on_access = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
            del caught[:]
            if present:
                use(name, getattr(asyncio, name))
            on_use = [str(w.message) for w in caught
                      if issubclass(w.category, DeprecationWarning) and str(w.message) not in on_access]
        names[name] = {"hasattr": present, "warns_on_access": bool(on_access),
                       "warns_on_use": bool(on_use), "warning": (on_access + on_use + [""])[0]}
    names["_UnixDefaultEventLoopPolicy"] = {
        "hasattr": hasattr(unix_events, "_UnixDefaultEventLoopPolicy"), "warns_on_access": False,
        "warns_on_use": False, "warning": "",
        "doc": getattr(getattr(unix_events, "_UnixDefaultEventLoopPolicy", None), "__doc__", None)}
    out["names"] = names
    try:
        import _asyncio
        out["task_is_c"] = asyncio.Task is _asyncio.Task
        out["future_is_c"] = asyncio.Future is _asyncio.Future
    except ImportError:
        out["task_is_c"] = out["future_is_c"] = False
    print(json.dumps(out))


def live_names(python: str | None = None) -> dict[str, Any]:
    """``hasattr(asyncio, name)`` for the history's names on an interpreter (default: this
    one), whether the access warned, and whether asyncio.Task/Future are the C ones."""
    return _run_child(_live_child, {}, python=python)


def tag_for(version: Sequence[int]) -> str | None:
    """The tag of TAGS with the same minor version (3.11.7 -> "v3.11.9"), or None."""
    prefix = f"v{version[0]}.{version[1]}."
    return next((tag for tag in TAGS if tag.startswith(prefix)), None)


def live_mismatches(live: dict[str, Any]) -> list[str]:
    """Where ``live_names()``'s answer disagrees with POLICY_HISTORY at the tag of the same
    minor version: one sentence per disagreement ([] when all agree or no tag matches)."""
    tag = tag_for(live["version"])
    if tag is None:
        return []
    wrong = []
    for name, states in POLICY_HISTORY.items():
        state, seen = states[tag], live["names"][name]
        present = not state.startswith("removed")
        on_access = "__getattr__ warns" in state
        on_use = state.startswith("deprecated") and not on_access
        observed = (seen["hasattr"], seen["warns_on_access"], seen["warns_on_use"])
        if observed != (present, on_access, on_use):
            wrong.append(f"{name} on Python {live['python']}: the table at {tag} says {state!r}, "
                         f"the interpreter says hasattr={seen['hasattr']}, warns on access="
                         f"{seen['warns_on_access']}, warns on use={seen['warns_on_use']}")
    return wrong


def _speed_child(config_json: str) -> None:
    """(child) The C Task against tasks._PyTask on two workloads, interleaved, best of."""
    import asyncio
    import json
    import sys
    import time
    from asyncio import tasks

    config = json.loads(config_json)
    n, k, repeat = config["n"], config["k"], config["repeat"]

    async def at_once() -> None:           # creation, one step, done callbacks
        return None

    async def steps() -> None:             # k more steps, each a bare yield via sleep(0)
        for _ in range(k):
            await asyncio.sleep(0)

    def run(factory: Any, work: Any) -> float:
        loop = asyncio.new_event_loop()
        loop.set_task_factory(lambda lp, coro, **kw: factory(coro, loop=lp, **kw))

        async def main() -> None:
            for task in [loop.create_task(work()) for _ in range(n)]:
                await task
        try:
            t0 = time.perf_counter()
            loop.run_until_complete(main())
            return time.perf_counter() - t0
        finally:
            loop.close()

    out: dict[str, Any] = {"python": sys.version.split()[0], "n": n, "k": k, "repeat": repeat}
    for label, work in (("at_once", at_once), ("sleep0", steps)):
        best = {"c": float("inf"), "py": float("inf")}
        for _ in range(repeat):                   # interleaved; noise only ever adds time
            best["c"] = min(best["c"], run(tasks._CTask, work))
            best["py"] = min(best["py"], run(tasks._PyTask, work))
        out[label] = {"c_seconds": best["c"], "py_seconds": best["py"], "ratio": best["py"] / best["c"]}
    print(json.dumps(out))


def c_task_speed(n: int = 2000, k: int = 20, repeat: int = 5, *,
                 python: str | None = None) -> dict[str, Any]:
    """Time ``n`` tasks with the C Task (``tasks._CTask``, what ``asyncio.Task`` is) and the
    pure-Python one (``tasks._PyTask``), best of ``repeat``, interleaved, in one child.
    Two workloads: ``at_once`` (a coroutine that returns at once: creation, one step, the
    done callbacks) and ``sleep0`` (``k`` ``await asyncio.sleep(0)`` each: the loop's own
    Python code, ``_run_once`` and ``Handle._run``, runs between the steps). Each has
    ``c_seconds``, ``py_seconds`` and ``ratio`` (Python time / C time)."""
    return _run_child(_speed_child, {"n": n, "k": k, "repeat": repeat}, python=python)
