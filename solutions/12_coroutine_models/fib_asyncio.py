"""Task 12.7 (capstone 4/4): asyncio in a thread of its own, computing through run_in_executor.

The capstone is one service built four ways (12.4 threads, 12.5 threads and a process pool,
12.6 a generator loop of your own with a pool, 12.7 asyncio with a pool). The four files keep
the same protocol and the same API; only the concurrency differs. lessons.capstone measures
them side by side.

The protocol: lesson 09's fib service, David Beazley's fib server (PyCon 2015, "Python
Concurrency From the Ground Up: LIVE!"), with pipelining and errors. TCP on 127.0.0.1. A
client sends lines: n in ASCII decimal digits, 0 <= n <= MAX_N, each ending in b"\\n" (a
b"\\r" before it is allowed). parse(line), given below, reads one line.
  * Each line is answered on its connection, in the order the lines came, with
    b"%d\\n" % compute(n).
  * A bad line (parse raises ValueError) is answered b"error: <the reason>\\n", and the
    connection stays open.
  * A connection carries any number of lines, and a client may send many before it reads any
    answer (pipelining, 流水线).
  * When the client closes its side (EOF), the server answers every whole line it sent and
    then closes the connection. What becomes of bytes after the last b"\\n" is not checked.

The API:
  start(port=0, *, compute=fib, workers=2, use_uvloop=False) -> Service
      Serve on 127.0.0.1:port (0: any free port). Returns once the service accepts
      connections: a client that connects as soon as start() returns is served, never
      refused, even if the threads start() started are slow to run. compute(n) makes the
      answer: fib by default, a function of their own in the tests (module-level, so that a
      process pool can send it by name). workers: the size of the process pool of 12.5-12.7
      (12.4 has none, and ignores it). use_uvloop: this way only (rule 7 below).
  Service.address   ("127.0.0.1", port)
  Service.close()   A new connection is refused; every open connection is closed (its client
      reads EOF); every thread the service started has ended, and every process it started
      is gone and waited for (no zombie, 僵尸进程). A second close() does nothing. close()
      may wait for a compute(n) in progress to end (the tests never close during one).

Rules every way keeps, each checked:
  1. The protocol above: the right answers in order, pipelined lines, EOF, bad lines.
  2. Connections are served concurrently (并发): many clients at once each get their
     answers, and short requests on other connections are answered while one long
     compute(n) is in progress (the tests hold it until every short answer has arrived).
  3. start() returns ready, and close() leaves nothing (the API above).
  4. A client that leaves in the middle of a request (it resets the connection, or closes
     it, while its compute(n) runs) costs only its own connection: the service keeps serving
     the others and new ones, and close() is still clean.

This way's rules, checked:
  5. One asyncio event loop (事件循环) serves every connection (asyncio.start_server, a task per
     connection), and it runs in one thread that the service starts: the service starts no
     other thread of its own (the pool's two are the pool's).
  6. compute(n) runs in a worker process of a ProcessPoolExecutor of `workers` processes,
     awaited with loop.run_in_executor(pool, compute, n), as in 12.5 (rule 5 there: every
     compute goes there, and up to `workers` run at once). The loop itself never computes.
  7. start(..., use_uvloop=True) runs the same code on uvloop's event loop
     (uvloop.new_event_loop(), libuv underneath; the course's requirements install uvloop);
     use_uvloop=False, the default, on asyncio's own.
  8. close() is called from another thread than the loop's: it must reach the loop through a
     thread-safe door (asyncio.run_coroutine_threadsafe or loop.call_soon_threadsafe), which
     closes the server and every connection; then the loop ends, close() joins its thread and
     shuts the pool down (wait=True).
Not checked, but do it: start the workers with spawn or forkserver (see 12.5).

asyncio.Server.close() stops listening but leaves the connections it accepted open (Lib/
asyncio/base_events.py, Server.close, v3.11.7 to v3.15.2; Server.close_clients() is new in
3.13), and up to 3.11 Server.wait_closed() returned at once after close() instead of waiting
for them (CPython gh-79033, fixed in 3.12): keep the connections' writers and close them
yourself.
"""

import asyncio
import concurrent.futures
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor

MAX_N = 35      # fib(35): about 1.5 s of one core in CPython 3.11, a long request indeed


def fib(n):
    """The naive recursion, on purpose: CPU work in Python bytecode all the way."""
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def parse(line):
    """n from one request line (bytes, with or without its b"\\n"), or ValueError(reason)."""
    if line.endswith(b"\n"):
        line = line[:-1]
    if line.endswith(b"\r"):
        line = line[:-1]
    if not line:
        raise ValueError("empty line")
    if not line.isdigit():              # bytes.isdigit(): ASCII 0-9 only, no sign, no space
        raise ValueError(f"not a number: {line[:30]!r}")
    if len(line) > 4 or int(line) > MAX_N:
        raise ValueError(f"n must be 0..{MAX_N}, got {line[:30].decode()}")
    return int(line)


class Service:
    """A running service, made by start(). The tests use only .address and .close()."""

    ### BEGIN SOLUTION 12.7
    def __init__(self, port, compute, workers, use_uvloop):
        self._compute = compute
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver"))
        self._writers = set()
        self._handlers = set()
        self._lock = threading.Lock()
        self._closed = False
        started = concurrent.futures.Future()  # the address, or why the server did not start
        self._thread = threading.Thread(target=self._run, args=(port, use_uvloop, started),
                                        name="fib-asyncio")
        self._thread.start()
        try:
            self.address = started.result()    # ready: listening
        except BaseException:
            self._thread.join()
            self._pool.shutdown(wait=True)
            raise

    def _run(self, port, use_uvloop, started):
        factory = None
        if use_uvloop:
            import uvloop
            factory = uvloop.new_event_loop
        try:
            # Runner (3.11+) also shuts down async generators and the default executor.
            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(self._main(port, started))
        except BaseException as exc:
            if not started.done():
                started.set_exception(exc)

    async def _main(self, port, started):
        self._loop = asyncio.get_running_loop()
        self._stop = self._loop.create_future()
        server = await asyncio.start_server(self._handle, "127.0.0.1", port)
        started.set_result(server.sockets[0].getsockname()[:2])
        await self._stop
        server.close()                          # no new connections
        for writer in list(self._writers):      # and the open ones end (their reads see EOF)
            writer.close()
        await server.wait_closed()
        if self._handlers:
            await asyncio.wait(list(self._handlers))

    async def _handle(self, reader, writer):
        self._handlers.add(asyncio.current_task())
        self._writers.add(writer)
        loop = asyncio.get_running_loop()
        try:
            while line := await reader.readline():
                try:
                    n = parse(line)
                except ValueError as exc:
                    writer.write(b"error: %s\n" % str(exc).encode())
                else:
                    value = await loop.run_in_executor(self._pool, self._compute, n)
                    writer.write(b"%d\n" % value)
                await writer.drain()
        except (OSError, ValueError):           # reset by the client; a line over the limit
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
            self._handlers.discard(asyncio.current_task())

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
        # The one door into the loop from another thread (a plain set_result here would be
        # a call from the wrong thread: lesson 09.2).
        try:
            self._loop.call_soon_threadsafe(lambda: self._stop.done() or self._stop.set_result(None))
        except RuntimeError:                    # the loop has ended already (it failed)
            pass
        self._thread.join()
        self._pool.shutdown(wait=True)
    ### END SOLUTION
    ### BEGIN STUB
    # def close(self):
    #     raise NotImplementedError("12.7: not implemented yet - write the Service class")
    ### END STUB


def start(port=0, *, compute=fib, workers=2, use_uvloop=False):
    """Serve the fib protocol on 127.0.0.1:port from an asyncio loop in a thread; see the module docstring."""
    ### BEGIN SOLUTION 12.7
    return Service(port, compute, workers, use_uvloop)
    ### END SOLUTION
