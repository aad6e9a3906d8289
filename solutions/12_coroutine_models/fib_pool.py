"""Task 12.5 (capstone 2/4): threads plus a process pool (进程池) - the computing leaves the serving process.

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

This way keeps 12.4's threads (one accepts, one serves each connection) and adds a process
pool. Its rules, checked:
  5. compute(n) runs in a worker process of a concurrent.futures.ProcessPoolExecutor of
     `workers` processes that the service starts: never in the serving process. Every
     compute(n) goes there, the cheap ones too. The pool is shared by all connections, so up
     to `workers` computes are in progress at once (three connections whose compute(n) all
     wait, with workers=3, are all in progress, in three processes).
  6. close() shuts the pool down (shutdown(wait=True)) once the connection threads have
     ended: no worker process is left.
Not checked, but do it: start the workers with spawn or forkserver (mp_context=
multiprocessing.get_context("spawn")), as in 09.1: this process has threads, and fork copies
the locks they hold in whatever state they are (What's New in Python 3.12: os.fork() in a
process with threads warns with a DeprecationWarning).

Why: under the GIL (全局解释器锁) a thread that runs fib holds the one interpreter of this
process, and every other connection's thread waits for it (lesson 02's switch interval lets
each run 5 ms at a time). Processes have an interpreter each. A connection's thread now
waits in future.result(), and a thread that waits holds no GIL.
"""

import multiprocessing
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

    ### BEGIN SOLUTION 12.5
    def __init__(self, listener, compute, workers):
        self._listener = listener
        self._compute = compute
        self.address = listener.getsockname()[:2]
        # Workers start on demand, at the first submits; spawn: see the module docstring.
        self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        self._lock = threading.Lock()        # guards the three below
        self._closing = False
        self._open = set()
        self._threads = []
        self._closed = False
        self._acceptor = threading.Thread(target=self._accept_all, name="fib-accept")
        self._acceptor.start()

    def _accept_all(self):
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:                  # close() shut the listening socket down
                return
            with self._lock:
                if self._closing:
                    conn.close()
                    return
                self._threads = [t for t in self._threads if t.is_alive()]
                thread = threading.Thread(target=self._serve, args=(conn,), name="fib-connection")
                self._open.add(conn)
                self._threads.append(thread)
            thread.start()

    def _answer(self, line):
        try:
            n = parse(line)
        except ValueError as exc:
            return b"error: %s\n" % str(exc).encode()
        # The thread waits here without the GIL while a worker process computes.
        return b"%d\n" % self._pool.submit(self._compute, n).result()

    def _serve(self, conn):
        try:
            with conn.makefile("rb") as lines:
                for line in lines:
                    conn.sendall(self._answer(line))
        except OSError:                      # the client reset the connection, or left first
            pass
        finally:
            with self._lock:
                self._open.discard(conn)
                conn.close()

    def close(self):
        with self._lock:
            if self._closed:
                return
            self._closed = self._closing = True
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._acceptor.join()
        with self._lock:
            for conn in self._open:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            threads = list(self._threads)
        for thread in threads:
            thread.join()
        # Last: no thread can submit any more. wait=True joins the pool's own threads and
        # waits for (reaps) every worker process.
        self._pool.shutdown(wait=True)
    ### END SOLUTION
    ### BEGIN STUB
    # def close(self):
    #     raise NotImplementedError("12.5: not implemented yet - write the Service class")
    ### END STUB


def start(port=0, *, compute=fib, workers=2):
    """Serve the fib protocol on 127.0.0.1:port, threads plus a process pool; see the module docstring."""
    ### BEGIN SOLUTION 12.5
    listener = socket.create_server(("127.0.0.1", port))
    return Service(listener, compute, workers)
    ### END SOLUTION
