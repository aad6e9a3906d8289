"""Task 12.6 (capstone 3/4): a generator event loop of your own, a process pool and a socketpair bridge.

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
  start(port=0, *, compute=fib, workers=2) -> Service
      Serve on 127.0.0.1:port (0: any free port). Returns once the service accepts
      connections: a client that connects as soon as start() returns is served, never
      refused, even if the threads start() started are slow to run. compute(n) makes the
      answer: fib by default, a function of their own in the tests (module-level, so that a
      process pool can send it by name). workers: the size of the process pool of 12.5-12.7
      (12.4 has none, and ignores it).
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
  5. One thread serves: the loop's. It accepts, reads and writes every client socket and runs
     every step of every task; the service starts no other thread of its own (the pool's two,
     its manager and its queue feeder, are the pool's). The loop is written in this file: a
     select loop over generator tasks (no asyncio), each task yielding what it waits for, such
     as ("recv", sock), ("send", sock) or ("future", future), as in lesson 05 and Beazley's
     talk.
  6. compute(n) runs in a worker process of a ProcessPoolExecutor of `workers` processes, as
     in 12.5 (rule 5 there: every compute goes there, and up to `workers` run at once).
  7. The bridge (桥接): a pool future's done callback runs in one of the pool's threads, so it
     touches nothing of the loop's (no task, no selector, no client socket); it only notes
     which task is done and writes one byte on a socket.socketpair() whose read end the loop
     selects on. So the loop wakes up when a compute ends, with nothing else happening: the
     tests send nothing else while they wait for the long answer.
  8. No busy waiting (忙等): while every task waits (a compute in progress, the clients
     quiet), the loop sleeps in select() with no timeout. Over a quiet half second the
     serving process uses under a quarter of the wall time in CPU, and its threads wake up
     no more than a few times.
  9. close() may be called from any thread: it wakes the loop (a byte on the socketpair), the
     loop closes every socket it has, close() joins the loop's thread and then shuts the pool
     down (wait=True).
Not checked, but do it: start the workers with spawn or forkserver (see 12.5).

Where the callback runs: concurrent.futures.Future.set_result calls the done callbacks in the
thread that completes the future (_invoke_callbacks in Lib/concurrent/futures/_base.py, v3.11
to v3.15); for a process pool that is its manager thread (_ExecutorManagerThread.
process_result_item in Lib/concurrent/futures/process.py). asyncio's own loop crosses the same
gap the same way: call_soon_threadsafe writes a byte to its self-pipe, a socketpair
(_write_to_self in Lib/asyncio/selector_events.py). lessons.multicore.SocketpairBridge is the
same bridge on an asyncio loop.
"""

import collections
import multiprocessing
import selectors
import socket
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

    ### BEGIN SOLUTION 12.6
    def __init__(self, listener, compute, workers):
        listener.setblocking(False)
        self._listener = listener
        self._compute = compute
        self.address = listener.getsockname()[:2]
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self._selector = selectors.DefaultSelector()
        # The bridge: any thread writes a byte on _notify; the loop selects on _event.
        self._event, self._notify = socket.socketpair()
        self._event.setblocking(False)
        self._notify.setblocking(False)
        self._finished = collections.deque()   # tasks whose future is done: the one thing
        #                                        another thread touches (deque.append is atomic)
        self._ready = collections.deque()      # (task, value to send into it): the loop's own
        self._tasks = set()                    # every live task, to close them at the end
        self._closing = False
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fib-loop")
        self._thread.start()

    # ---- the tasks: generators that yield (what they wait for, on what)

    def _accept_all(self):
        while True:
            yield "recv", self._listener
            try:
                conn, _ = self._listener.accept()
            except BlockingIOError:            # another wake-up took it
                continue
            conn.setblocking(False)
            self._spawn(self._serve(conn))

    def _serve(self, conn):
        buffer = b""
        try:
            while True:
                end = buffer.find(b"\n")
                while end < 0:                 # the next whole line
                    yield "recv", conn
                    data = conn.recv(65536)
                    if not data:
                        return                 # EOF: every whole line has been answered
                    buffer += data
                    end = buffer.find(b"\n", len(buffer) - len(data))
                line, buffer = buffer[:end + 1], buffer[end + 1:]
                try:
                    n = parse(line)
                except ValueError as exc:
                    out = b"error: %s\n" % str(exc).encode()
                else:
                    future = self._pool.submit(self._compute, n)
                    yield "future", future     # resumed when the bridge says it is done
                    out = b"%d\n" % future.result()
                while out:
                    try:
                        out = out[conn.send(out):]
                    except BlockingIOError:    # the client reads slowly: wait until writable
                        yield "send", conn
        except OSError:                        # reset by the client, or it left first
            pass
        finally:
            conn.close()

    # ---- the loop

    def _spawn(self, task):
        self._tasks.add(task)
        self._ready.append((task, None))

    def _step(self, task, value):
        try:
            why, what = task.send(value)
        except StopIteration:
            self._tasks.discard(task)
            return
        except Exception:                      # one task's bug must not stop the others
            self._tasks.discard(task)
            return
        if why == "recv":
            self._selector.register(what, selectors.EVENT_READ, task)
        elif why == "send":
            self._selector.register(what, selectors.EVENT_WRITE, task)
        elif why == "future":
            what.add_done_callback(lambda _, task=task: self._future_done(task))
        else:
            raise RuntimeError(f"a task yielded {why!r}")

    def _future_done(self, task):
        # In a thread of the pool (or here, at once, if the future was done already): note the
        # task and write one byte. Nothing else of the loop's is touched.
        self._finished.append(task)
        try:
            self._notify.send(b"x")
        except OSError:                        # full: a byte is waiting already
            pass

    def _wake(self):
        try:
            while self._event.recv(4096):
                pass
        except BlockingIOError:
            pass
        # The bytes first, then the deque: a task appended after this has its byte waiting.
        while self._finished:
            self._ready.append((self._finished.popleft(), None))

    def _run(self):
        self._selector.register(self._event, selectors.EVENT_READ, None)
        self._spawn(self._accept_all())
        try:
            while not self._closing:
                while self._ready:
                    self._step(*self._ready.popleft())
                for key, _ in self._selector.select():     # no timeout: sleeps until needed
                    if key.data is None:
                        self._wake()
                    else:
                        self._selector.unregister(key.fileobj)
                        self._ready.append((key.data, None))
        finally:
            self._selector.close()
            for task in list(self._tasks):
                task.close()                   # GeneratorExit: each closes its connection
            self._listener.close()

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._closing = True
        try:
            self._notify.send(b"!")            # wakes the loop, which sees _closing
        except BlockingIOError:
            pass
        self._thread.join()
        self._pool.shutdown(wait=True)         # its threads joined, its workers reaped
        self._event.close()
        self._notify.close()
    ### END SOLUTION
    ### BEGIN STUB
    # def close(self):
    #     raise NotImplementedError("12.6: not implemented yet - write the Service class")
    ### END STUB


def start(port=0, *, compute=fib, workers=2):
    """Serve the fib protocol on 127.0.0.1:port from one generator loop; see the module docstring."""
    ### BEGIN SOLUTION 12.6
    listener = socket.create_server(("127.0.0.1", port))   # listening before start() returns
    return Service(listener, compute, workers)
    ### END SOLUTION
