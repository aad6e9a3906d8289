"""Alternative correct and plausible wrong solutions of the capstone, 12.4-12.7 (fib service four ways).

tests/kit/variants_12_coroutine_models.py adds them to lesson 12's VARIANTS, which
tests/kit/test_variants_12_coroutine_models.py grades against tests/test_12_coroutine_models.py:
every alternative must get full marks on its task, and every wrong one must fail, with the
tests named here (those of the rule it breaks) among the failures.

The wrong ones are the reference (read from solutions/, its markers and stub taken out) with
one rule broken through variant_grading.changed, whose every `old` must occur exactly once: an
edit of the reference that moves one of them makes this module fail to import, loudly, rather
than let a variant drift into testing nothing.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from variant_grading import ROOT, changed  # noqa: E402

_FOLDER = ROOT / "solutions" / "12_coroutine_models"


def _reference(file):
    """The solution file as a learner's finished file: markers and the stub block removed."""
    text = (_FOLDER / file).read_text(encoding="utf-8")
    text = re.sub(r"\n[ \t]*### BEGIN STUB\n.*?### END STUB[ \t]*\n", "\n", text, flags=re.S)
    return re.sub(r"^[ \t]*### (BEGIN SOLUTION[^\n]*|END SOLUTION)[ \t]*\n", "", text, flags=re.M)


def _given(file):
    """What every version of the file starts with: the imports are the variant's own; MAX_N,
    fib and parse are given to the learner, so every variant keeps them."""
    text = _reference(file)
    return text[text.index("MAX_N = 35"):text.index("class Service:")]


THREADS, POOL, LOOP, ASYNC = "fib_threads.py", "fib_pool.py", "fib_loop.py", "fib_asyncio.py"
THREADS_REF, POOL_REF, LOOP_REF, ASYNC_REF = (_reference(f) for f in (THREADS, POOL, LOOP, ASYNC))

ANSWERS = "test_service_answers_each_line"
PIPELINED = "test_service_answers_pipelined_lines_then_closes_at_eof"
BAD_LINES = "test_service_answers_bad_lines_with_an_error_and_keeps_the_connection"
IN_ORDER = "test_service_keeps_each_connections_answers_in_order"
SHORT_WHILE_LONG = "test_service_answers_short_requests_while_a_long_one_computes"
READY = "test_service_accepts_as_soon_as_start_returns"
CLOSE = "test_service_close_leaves_nothing_behind"
LEAVING = "test_service_survives_a_client_that_leaves_mid_request"
OWN_THREAD = "test_threads_serve_each_connection_in_its_own_thread"
ELSEWHERE = "test_pool_computes_in_worker_processes"
ONE_THREAD = "test_one_thread_serves_every_connection"
SLEEPS = "test_loop_sleeps_in_select_while_a_compute_runs"
UVLOOP = "test_asyncio_runs_on_uvloop_when_asked"


# ---------------------------------------------------------------- 12.4 threads

# socketserver's ThreadingTCPServer: a thread per request, joined by server_close() (block_on_close,
# Lib/socketserver.py ThreadingMixIn, 3.7+); the open connections are tracked to be shut down.
_SOCKETSERVER = '''

class _Handler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        with self.server.lock:
            self.server.open.add(self.request)

    def handle(self):
        try:
            for line in self.rfile:
                try:
                    n = parse(line)
                except ValueError as exc:
                    self.wfile.write(b"error: %s\\n" % str(exc).encode())
                else:
                    self.wfile.write(b"%d\\n" % self.server.answer(n))
        except OSError:
            pass

    def finish(self):
        with self.server.lock:
            self.server.open.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = False
    block_on_close = True


class Service:
    def __init__(self, port, answer, pool=None):
        self._server = _Server(("127.0.0.1", port), _Handler)     # bound and listening
        self._server.answer = answer
        self._server.lock = threading.Lock()
        self._server.open = set()
        self._pool = pool
        self.address = self._server.server_address[:2]
        self._closed = False
        self._thread = threading.Thread(target=self._server.serve_forever)
        self._thread.start()

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()                  # serve_forever() returns
        self._thread.join()
        with self._server.lock:
            for sock in self._server.open:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self._server.server_close()              # closes the listener, joins the request threads
        if self._pool is not None:
            self._pool.shutdown(wait=True)
'''

THREADS_SOCKETSERVER = ("import socket\nimport socketserver\nimport threading\n\n" + _given(THREADS)
                        + _SOCKETSERVER + '''

def start(port=0, *, compute=fib, workers=2):
    return Service(port, compute)
''')

_ACCEPT_THREAD = '''                thread = threading.Thread(target=self._serve, args=(conn,), name="fib-connection")
                self._open.add(conn)
                self._threads.append(thread)
            thread.start()
'''

THREADS_WRONG = {
    # The accept loop serves each connection itself: one connection at a time.
    # (Its close() shuts the open connections down before it joins the accept thread, which
    # may be serving one: else close() would wait for that client forever.)
    "serves_in_the_accept_thread": (changed(THREADS_REF, [
        (_ACCEPT_THREAD, "                self._open.add(conn)\n            self._serve(conn)\n"),
        ("        self._acceptor.join()                # from here on no thread is started\n"
         "        with self._lock:\n            for conn in self._open:\n                try:\n"
         "                    conn.shutdown(socket.SHUT_RDWR)      # wakes its thread's recv()\n"
         "                except OSError:\n                    pass\n",
         "        with self._lock:\n            for conn in self._open:\n                try:\n"
         "                    conn.shutdown(socket.SHUT_RDWR)\n                except OSError:\n                    pass\n"
         "        self._acceptor.join()\n        with self._lock:\n")]),
        {SHORT_WHILE_LONG, OWN_THREAD}),
    # A fixed pool of four threads for the connections: the fifth waits for a free one.
    "four_threads_for_all_connections": (changed(THREADS_REF, [
        ("import threading\n", "import threading\nfrom concurrent.futures import ThreadPoolExecutor\n"),
        ("        self._closed = False\n", "        self._closed = False\n        self._workers = ThreadPoolExecutor(4)\n"),
        (_ACCEPT_THREAD, "                self._open.add(conn)\n            self._workers.submit(self._serve, conn)\n"),
        ("        for thread in threads:\n            thread.join()\n", "        self._workers.shutdown(wait=True)\n")]),
        {OWN_THREAD}),
    "does_not_join_the_threads": (changed(THREADS_REF, [("        for thread in threads:\n            thread.join()\n", "")]),
                                  {CLOSE}),
    "drops_a_client_after_a_bad_line": (changed(THREADS_REF, [(
        "                    conn.sendall(self._answer(line))\n",
        "                    answer = self._answer(line)\n                    conn.sendall(answer)\n"
        "                    if answer.startswith(b\"error\"):\n                        break\n")]),
        {BAD_LINES}),
    # No "already closed" flag, and the listener's shutdown unguarded: the second close() raises.
    "second_close_raises": (changed(THREADS_REF, [
        ("            if self._closed:\n                return\n            self._closed = self._closing = True\n",
         "            self._closing = True\n"),
        ("        try:\n            self._listener.shutdown(socket.SHUT_RDWR)    # wakes the accept() in progress\n"
         "        except OSError:\n            pass\n",
         "        self._listener.shutdown(socket.SHUT_RDWR)\n")]),
        {CLOSE}),
}


# ---------------------------------------------------------------- 12.5 threads + pool

POOL_SOCKETSERVER = ("import multiprocessing\nimport socket\nimport socketserver\nimport threading\n"
                     "from concurrent.futures import ProcessPoolExecutor\n\n" + _given(POOL) + _SOCKETSERVER + '''

def start(port=0, *, compute=fib, workers=2):
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
    return Service(port, lambda n: pool.submit(compute, n).result(), pool)
''')

_SUBMIT = "        return b\"%d\\n\" % self._pool.submit(self._compute, n).result()\n"

POOL_WRONG = {
    # Lesson 09's "cheap ones inline" rule, which this task forbids.
    "computes_cheap_ones_itself": (changed(POOL_REF, [(_SUBMIT,
        "        if n < 20:\n            return b\"%d\\n\" % self._compute(n)\n" + _SUBMIT)]),
        {ELSEWHERE}),
    "a_thread_pool": (changed(POOL_REF, [
        ("from concurrent.futures import ProcessPoolExecutor\n", "from concurrent.futures import ThreadPoolExecutor\n"),
        ("ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(\"spawn\"))", "ThreadPoolExecutor(workers)")]),
        {ELSEWHERE}),
    # A lock "to protect the pool": one compute at a time for the whole service.
    "one_compute_at_a_time": (changed(POOL_REF, [
        ("        self._closed = False\n", "        self._closed = False\n        self._one_at_a_time = threading.Lock()\n"),
        (_SUBMIT, "        with self._one_at_a_time:\n    " + _SUBMIT)]),
        {SHORT_WHILE_LONG, ELSEWHERE}),
    "never_shuts_the_pool_down": (changed(POOL_REF, [("        self._pool.shutdown(wait=True)\n", "")]), {CLOSE}),
    "shuts_the_pool_down_without_waiting": (changed(POOL_REF, [("        self._pool.shutdown(wait=True)\n",
                                                                "        self._pool.shutdown(wait=False)\n")]),
                                            {CLOSE}),
}


# ---------------------------------------------------------------- 12.6 generator loop + pool

# Closer to Beazley's aserver.py: select.select over dicts of waiting tasks, the done callback
# appends the task to the ready deque itself and writes a byte; a monitor task drains the bytes.
LOOP_BEAZLEY = '''import collections
import multiprocessing
import select
import socket
import threading
from concurrent.futures import ProcessPoolExecutor

''' + _given(LOOP) + '''

class Service:
    def __init__(self, listener, compute, workers):
        listener.setblocking(False)
        self._listener = listener
        self.address = listener.getsockname()[:2]
        self._compute = compute
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
        self._ready = collections.deque()
        self._recv_wait, self._send_wait = {}, {}
        self._future_event, self._future_notify = socket.socketpair()
        self._tasks, self._socks = set(), set()
        self._stop = self._closed = False
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _future_done(self, task):
        self._ready.append(task)
        try:
            self._future_notify.send(b"x")
        except OSError:
            pass

    def _future_monitor(self):
        while True:
            yield "recv", self._future_event
            self._future_event.recv(100)

    def _server(self):
        while True:
            yield "recv", self._listener
            try:
                client, _ = self._listener.accept()
            except BlockingIOError:
                continue
            client.setblocking(False)
            self._socks.add(client)
            self._new(self._handler(client))

    def _handler(self, client):
        pending = b""
        try:
            while True:
                yield "recv", client
                data = client.recv(100000)
                if not data:
                    break
                *lines, pending = (pending + data).split(b"\\n")
                for line in lines:
                    try:
                        n = parse(line)
                    except ValueError as exc:
                        out = b"error: %s\\n" % str(exc).encode()
                    else:
                        future = self._pool.submit(self._compute, n)
                        yield "future", future
                        out = b"%d\\n" % future.result()
                    while out:
                        yield "send", client
                        out = out[client.send(out):]
        except OSError:
            pass
        finally:
            self._socks.discard(client)
            client.close()

    def _new(self, task):
        self._tasks.add(task)
        self._ready.append(task)

    def _run(self):
        self._new(self._server())
        self._new(self._future_monitor())
        while not self._stop:
            while not self._ready:
                can_recv, can_send, _ = select.select(self._recv_wait, self._send_wait, [])
                for s in can_recv:
                    self._ready.append(self._recv_wait.pop(s))
                for s in can_send:
                    self._ready.append(self._send_wait.pop(s))
            task = self._ready.popleft()
            try:
                why, what = next(task)
            except StopIteration:
                self._tasks.discard(task)
                continue
            except Exception:
                self._tasks.discard(task)
                continue
            if why == "recv":
                self._recv_wait[what] = task
            elif why == "send":
                self._send_wait[what] = task
            elif why == "future":
                what.add_done_callback(lambda future, task=task: self._future_done(task))
        for task in list(self._tasks):
            task.close()
        for s in list(self._socks):
            s.close()
        self._listener.close()

    def close(self):
        if self._closed:
            return
        self._closed = self._stop = True
        self._future_notify.send(b"!")
        self._thread.join()
        self._pool.shutdown(wait=True)
        self._future_event.close()
        self._future_notify.close()


def start(port=0, *, compute=fib, workers=2):
    return Service(socket.create_server(("127.0.0.1", port)), compute, workers)
'''

_LOOP_FUTURE = '''                    future = self._pool.submit(self._compute, n)
                    yield "future", future     # resumed when the bridge says it is done
                    out = b"%d\\n" % future.result()
'''
_LOOP_CALLBACK = "            what.add_done_callback(lambda _, task=task: self._future_done(task))\n"
_LOOP_SELECT = "                for key, _ in self._selector.select():     # no timeout: sleeps until needed\n"


def _loop_polling(timeout):
    return changed(LOOP_REF, [
        ("        self._tasks = set()", "        self._pending = []\n        self._tasks = set()"),
        (_LOOP_CALLBACK, "            self._pending.append((task, what))\n"),
        ("                while self._ready:\n                    self._step(*self._ready.popleft())\n",
         "                for done in [p for p in self._pending if p[1].done()]:\n"
         "                    self._pending.remove(done)\n"
         "                    self._ready.append((done[0], None))\n"
         "                while self._ready:\n                    self._step(*self._ready.popleft())\n"),
        (_LOOP_SELECT, f"                for key, _ in self._selector.select({timeout} if self._pending else None):\n")])


LOOP_WRONG = {
    "computes_in_the_loop": (changed(LOOP_REF, [(_LOOP_FUTURE, "                    out = b\"%d\\n\" % self._compute(n)\n")]),
                             {SHORT_WHILE_LONG, ELSEWHERE}),
    # No bridge: the loop looks at its pending futures on every turn, so it never sleeps.
    "busy_waits_on_futures": (_loop_polling(0), {SLEEPS}),
    "checks_futures_every_10_ms": (_loop_polling(0.01), {SLEEPS}),
    # The answer is sent from a done callback, in the pool's thread, "since it is ready there".
    # (Resuming the task itself in that thread breaks the same rule, but also races with the
    # loop at close(): the generator may be running in the pool's thread when the loop closes
    # it, so which tests it fails changes from run to run.)
    "callback_writes_the_answer": (changed(LOOP_REF, [(_LOOP_FUTURE,
        "                    future = self._pool.submit(self._compute, n)\n"
        "                    future.add_done_callback(lambda f, conn=conn: conn.sendall(b\"%d\\n\" % f.result()))\n"
        "                    yield \"future\", future\n"
        "                    out = b\"\"\n")]),
        {ONE_THREAD, SLEEPS}),
    # A thread per pending future waits for it and then wakes the loop.
    "a_thread_per_future": (changed(LOOP_REF, [(_LOOP_CALLBACK,
        "            threading.Thread(target=lambda task=task, future=what: (future.exception(), "
        "self._future_done(task))).start()\n")]),
        {ONE_THREAD, SLEEPS}),
    # No OSError caught in a connection's task, nor any exception in _step: the first failed
    # send ends the loop, and with it the service.
    "dies_when_a_client_resets": (changed(LOOP_REF, [
        ("        except OSError:                        # reset by the client, or it left first\n            pass\n", ""),
        ("        except Exception:                      # one task's bug must not stop the others\n"
         "            self._tasks.discard(task)\n            return\n", "")]),
        {LEAVING}),
    "does_not_join_the_loop": (changed(LOOP_REF, [("        self._thread.join()\n", "")]), {CLOSE}),
    "never_shuts_the_pool_down": (changed(LOOP_REF, [("        self._pool.shutdown(wait=True)         # its threads joined, its workers reaped\n", "")]),
                                  {CLOSE}),
}


# ---------------------------------------------------------------- 12.7 asyncio + pool

# Protocols instead of streams, asyncio.run / uvloop.run in the thread, run_coroutine_threadsafe
# to stop; a connection's lines are computed at once and their answers written in line order.
ASYNC_PROTOCOL = '''import asyncio
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

''' + _given(ASYNC) + '''

class _Connection(asyncio.Protocol):
    def __init__(self, service):
        self.service = service
        self.buffer = b""

    def connection_made(self, transport):
        self.transport = transport
        self.answers = asyncio.Queue()        # futures of the answers, in the order of the lines
        self.writer = asyncio.get_running_loop().create_task(self.write_in_order())
        self.service.connections.add(self)

    def data_received(self, data):
        *lines, self.buffer = (self.buffer + data).split(b"\\n")
        loop = asyncio.get_running_loop()
        for line in lines:
            try:
                n = parse(line)
            except ValueError as exc:
                answer = loop.create_future()
                answer.set_result(b"error: %s\\n" % str(exc).encode())
            else:
                answer = loop.run_in_executor(self.service.pool, self.service.compute, n)
            self.answers.put_nowait(answer)

    def eof_received(self):
        self.answers.put_nowait(None)         # after the answers so far: close
        return True

    def connection_lost(self, exc):
        self.service.connections.discard(self)
        self.answers.put_nowait(None)

    async def write_in_order(self):
        try:
            while (answer := await self.answers.get()) is not None:
                value = await answer
                self.transport.write(value if isinstance(value, bytes) else b"%d\\n" % value)
        finally:
            self.transport.close()


class Service:
    def __init__(self, port, compute, workers, use_uvloop):
        self.compute = compute
        self.pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self.connections = set()
        self._closed = False
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(port, use_uvloop))
        self._thread.start()
        self._ready.wait()
        if self._failed is not None:
            self._thread.join()
            self.pool.shutdown()
            raise self._failed

    def _serve(self, port, use_uvloop):
        self._failed = None
        try:
            if use_uvloop:
                import uvloop
                uvloop.run(self._main(port))
            else:
                asyncio.run(self._main(port))
        except BaseException as exc:
            self._failed = exc
        finally:
            self._ready.set()

    async def _main(self, port):
        self._loop = asyncio.get_running_loop()
        self._done = asyncio.Event()
        self._server = await self._loop.create_server(lambda: _Connection(self), "127.0.0.1", port)
        self.address = self._server.sockets[0].getsockname()[:2]
        self._ready.set()
        await self._done.wait()

    async def _shutdown(self):
        self._server.close()
        for connection in list(self.connections):
            connection.transport.close()
        writers = [c.writer for c in self.connections]
        await self._server.wait_closed()
        await asyncio.gather(*writers, return_exceptions=True)
        self._done.set()

    def close(self):
        if self._closed:
            return
        self._closed = True
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result()
        self._thread.join()
        self.pool.shutdown(wait=True)


def start(port=0, *, compute=fib, workers=2, use_uvloop=False):
    return Service(port, compute, workers, use_uvloop)
'''

_ASYNC_COMPUTE = "                    value = await loop.run_in_executor(self._pool, self._compute, n)\n"

ASYNC_WRONG = {
    # A sleep instead of waiting for the server: enough on a quiet machine, not with slow threads.
    "sleeps_instead_of_waiting": (changed(ASYNC_REF, [
        ("import asyncio\n", "import asyncio\nimport socket\nimport time\n"),
        ("        started = concurrent.futures.Future()", "        self._sock = socket.socket()\n"
         "        self._sock.bind((\"127.0.0.1\", port))\n        started = concurrent.futures.Future()"),
        ("        try:\n            self.address = started.result()    # ready: listening\n"
         "        except BaseException:\n            self._thread.join()\n            self._pool.shutdown(wait=True)\n"
         "            raise\n",
         "        time.sleep(0.1)                       # give the server time to start\n"
         "        self.address = self._sock.getsockname()[:2]\n"),
        ("        server = await asyncio.start_server(self._handle, \"127.0.0.1\", port)\n",
         "        server = await asyncio.start_server(self._handle, sock=self._sock)\n")]),
        {READY}),
    "computes_in_the_loop": (changed(ASYNC_REF, [(_ASYNC_COMPUTE, "                    value = self._compute(n)\n")]),
                             {SHORT_WHILE_LONG, ELSEWHERE}),
    "the_default_executor": (changed(ASYNC_REF, [(_ASYNC_COMPUTE,
        "                    value = await loop.run_in_executor(None, self._compute, n)\n")]),
        {ELSEWHERE}),
    # A task per line, each writing its answer when it is ready (the connection waits for
    # them all before it closes). A bad line's error is written at once, ahead of the answers
    # still computing: the bad-lines test fails too, every run.
    "answers_when_ready": (changed(ASYNC_REF, [
        ("        loop = asyncio.get_running_loop()\n        try:\n            while line := await reader.readline():\n",
         "        loop = asyncio.get_running_loop()\n        pending = []\n\n"
         "        async def answer(n):\n"
         "            writer.write(b\"%d\\n\" % await loop.run_in_executor(self._pool, self._compute, n))\n\n"
         "        try:\n            while line := await reader.readline():\n"),
        (_ASYNC_COMPUTE + "                    writer.write(b\"%d\\n\" % value)\n",
         "                    pending.append(asyncio.create_task(answer(n)))\n"),
        ("        except (OSError, ValueError):           # reset by the client; a line over the limit\n",
         "            await asyncio.gather(*pending)\n"
         "        except (OSError, ValueError):           # reset by the client; a line over the limit\n")]),
        {IN_ORDER}),
    "ignores_use_uvloop": (changed(ASYNC_REF, [("            factory = uvloop.new_event_loop\n", "            factory = None\n")]),
                           {UVLOOP}),
    # No "already closed" flag: the second close() knocks on a closed loop.
    "second_close_raises": (changed(ASYNC_REF, [
        ("        with self._lock:\n            if self._closed:\n                return\n            self._closed = True\n", ""),
        ("        try:\n            self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))\n"
         "        except RuntimeError:                    # the loop has ended already (it failed)\n            pass\n",
         "        self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))\n")]),
        {CLOSE}),
}

# Those that wait out a safety net (10 s for an answer, 20 s for computes to reach the gate)
# start first.
SLOW = {("serves_in_the_accept_thread", THREADS), ("four_threads_for_all_connections", THREADS),
        ("one_compute_at_a_time", POOL), ("computes_in_the_loop", LOOP), ("computes_in_the_loop", ASYNC)}

VARIANTS = (
    [("alt_socketserver", THREADS, THREADS_SOCKETSERVER, None)]
    + [(n, THREADS, src, must) for n, (src, must) in THREADS_WRONG.items()]
    + [("alt_socketserver_forkserver", POOL, POOL_SOCKETSERVER, None)]
    + [(n, POOL, src, must) for n, (src, must) in POOL_WRONG.items()]
    + [("alt_beazley_select", LOOP, LOOP_BEAZLEY, None)]
    + [(n, LOOP, src, must) for n, (src, must) in LOOP_WRONG.items()]
    + [("alt_protocol_in_order", ASYNC, ASYNC_PROTOCOL, None)]
    + [(n, ASYNC, src, must) for n, (src, must) in ASYNC_WRONG.items()]
)
