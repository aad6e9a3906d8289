"""A loopback test server that misbehaves on purpose, for lessons 03, 04 and 06.

Real networks deliver data in pieces, readers fall behind and peers stop answering. On
127.0.0.1 none of that happens by itself: loopback is fast and delivers what you send in one
piece. ``Fixture`` makes it happen, on purpose and deterministically (no sleeps: a slow
reader reads only when the test ``permit()``s it)::

    from lessons.loopback import Fixture
    with Fixture("echo", chunk=3) as fx:          # echoes, 3 bytes per send
        s = socket.create_connection(fx.address)

Modes (one per fixture; each connection gets its own thread, which is the simplest correct
way to write a test server and keeps the misbehaviour readable):

``"echo"``   send back what arrives; with ``chunk`` > 0, in sends of at most ``chunk`` bytes,
             each its own TCP segment (TCP_NODELAY): a client that reads as they arrive sees
             small recv results. (A client that reads late gets them merged: TCP is a byte
             stream, and only the gated modes fix the pieces a read can see.)
``"send"``   send ``payload`` in pieces of ``chunk`` bytes (all at once if 0), then close; with
             ``gated=True`` each piece waits for one ``permit()``: fragments arrive exactly
             when the test says.
``"sink"``   read and throw away; with ``gated=True`` a slow reader: it reads only the bytes
             ``permit(n)`` allows, so the client's send buffer fills.
``"stall"``  accept and then do nothing at all: a peer that never reads nor writes (the
             kernel still takes what fits in the socket buffers, then the client's sends block).

``rcvbuf``/``sndbuf`` > 0 set SO_RCVBUF/SO_SNDBUF on the listening socket before listen(), so
accepted connections inherit them (Linux doubles the value and has a floor of a few KiB;
``man 7 socket``). ``received`` holds, per connection in accept order, the bytes it read.

The module is stdlib-only and self-contained on purpose: a graded test reads its source and
runs it in the sandboxed child, where ``lessons`` cannot be imported (``exec(source, ns)``).
"""

from __future__ import annotations

import socket
import threading

MODES = ("echo", "send", "sink", "stall")


class Fixture:
    """A misbehaving TCP server on 127.0.0.1, running in background threads until ``close()``."""

    def __init__(self, mode: str = "echo", *, chunk: int = 0, payload: bytes = b"",
                 gated: bool = False, rcvbuf: int = 0, sndbuf: int = 0, backlog: int = 128) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        if chunk < 0 or rcvbuf < 0 or sndbuf < 0:
            raise ValueError("chunk, rcvbuf and sndbuf must be >= 0")
        self.mode, self.chunk, self.payload, self.gated = mode, chunk, payload, gated
        self.received: list[bytearray] = []
        self._permits = threading.Semaphore(0)
        self._cond = threading.Condition()
        self._closing = threading.Event()
        self._conns: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if sndbuf:
            self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(backlog)
        self.address: tuple[str, int] = self.listener.getsockname()
        self._acceptor = threading.Thread(target=self._accept, name="fixture-accept", daemon=True)
        self._acceptor.start()

    # -- the test's controls -------------------------------------------------------------
    def permit(self, n: int = 1) -> None:
        """Let a gated fixture go on: ``n`` more pieces ("send") or ``n`` more bytes ("sink")."""
        if n < 0:
            raise ValueError("permit(n) needs n >= 0")
        if n:
            self._permits.release(n)

    def wait_connections(self, n: int, timeout: float | None = None) -> bool:
        """Block until ``n`` connections have been accepted (False if ``timeout`` passed first)."""
        with self._cond:
            return self._cond.wait_for(lambda: len(self.received) >= n, timeout)

    def wait_received(self, index: int, nbytes: int, timeout: float | None = None) -> bool:
        """Block until connection ``index`` has read at least ``nbytes``."""
        with self._cond:
            return self._cond.wait_for(
                lambda: len(self.received) > index and len(self.received[index]) >= nbytes, timeout)

    def close(self) -> None:
        """Stop accepting, close every connection, and join every thread."""
        self._closing.set()
        self._permits.release(1 << 16)       # wake gated threads however many permits they wait for
        # close() alone does not wake a thread blocked in accept() on Linux (the fd stays in
        # use until accept returns); shutdown() on a listening socket does: accept fails with
        # EINVAL and the acceptor ends
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()
        with self._cond:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv/send on it
            except OSError:
                pass
        self._acceptor.join()
        for t in list(self._threads):
            t.join()
        for c in conns:
            c.close()

    def __enter__(self) -> "Fixture":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the server itself ---------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:                  # closed by close()
                return
            with self._cond:
                if self._closing.is_set():
                    conn.close()
                    return
                self._conns.append(conn)
                self.received.append(bytearray())
                index = len(self.received) - 1
                t = threading.Thread(target=self._serve, args=(conn, index), name=f"fixture-{index}", daemon=True)
                self._threads.append(t)
                self._cond.notify_all()
            t.start()

    def _serve(self, conn: socket.socket, index: int) -> None:
        try:
            # a piece goes out when it is sent, not when Nagle's algorithm has more to add
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            getattr(self, "_" + self.mode)(conn, index)
        except OSError:                      # the client reset, or close() shut the socket
            pass

    def _note(self, index: int, data: bytes) -> None:
        with self._cond:
            self.received[index] += data
            self._cond.notify_all()

    def _echo(self, conn: socket.socket, index: int) -> None:
        while data := conn.recv(65536):
            self._note(index, data)
            step = self.chunk or len(data)
            for i in range(0, len(data), step):
                conn.sendall(data[i:i + step])
        conn.shutdown(socket.SHUT_WR)        # EOF for EOF

    def _send(self, conn: socket.socket, index: int) -> None:
        step = self.chunk or max(len(self.payload), 1)
        for i in range(0, len(self.payload), step):
            if self.gated:
                self._permits.acquire()
            if self._closing.is_set():
                return
            conn.sendall(self.payload[i:i + step])
        conn.shutdown(socket.SHUT_WR)

    def _sink(self, conn: socket.socket, index: int) -> None:
        while not self._closing.is_set():
            if self.gated:
                self._permits.acquire()
                data = conn.recv(1)
            else:
                data = conn.recv(65536)
            if not data:
                return
            self._note(index, data)

    def _stall(self, conn: socket.socket, index: int) -> None:
        self._closing.wait()
