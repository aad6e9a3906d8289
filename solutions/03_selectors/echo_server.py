"""Task 03.3: serve many echo clients from one selector thread, and survive a stalled one.

One thread, one selector (选择器): the server watches the listening socket, a stop socket and
every client connection, and does only what the kernel says can be done without waiting.
Each connection's state - the bytes still to send back to it - lives in its ``key.data``:
that is the continuation (延续) a thread would have kept on its stack.

``serve(listener, stop, selector=None, max_buffer=65536)``:

- ``listener`` is a listening TCP socket; ``serve`` makes it and every accepted connection
  non-blocking. ``stop`` is a socket (one end of a socketpair): when it becomes readable
  (a byte arrives, or its peer closes it), serve stops.
- ``selector`` is the selector to use (the tests pass one that records what it is asked);
  None means ``selectors.DefaultSelector()``. serve registers and unregisters in it, and
  closes it only if it made it.

Rules the tests check:

- Echo: every byte a client sends comes back to that client, in order, nothing lost and
  nothing added, with many clients (50 and more) at once, from ONE thread (serve starts
  no thread and never blocks in a socket call).
- EOF: when a client closes its sending side (``recv`` gives ``b""``), serve still sends back
  what it owes that client, then closes the connection and unregisters it: a closed
  connection never stays in the selector.
- A stalled client - one that sends but never reads - must not stop the others being served,
  and must not make serve's memory grow without bound: serve reads from a connection only
  while fewer than ``max_buffer`` bytes wait to be sent to it, and stops watching it for
  reading while it has that many (each ``recv`` asks for at most 64 KiB, so no more than
  ``max_buffer`` + 64 KiB ever wait for one client). When the client reads again, serve
  resumes, and everything it sent is echoed in the end.
- It watches a connection for ``EVENT_WRITE`` only while it has bytes to send to it (a
  socket with room to write is always writable: watching it with nothing to send would be
  a busy loop).
- A client that resets its connection (``ConnectionResetError``, ``BrokenPipeError``) is
  closed and unregistered; the others are served on.
- Stop: when ``stop`` is readable, serve closes every client connection, unregisters
  everything it registered (the listener and ``stop`` too, which it does not close), and
  returns the number of connections it accepted.
"""

import selectors
import socket

CHUNK = 65536    # the most one recv asks for


def serve(listener: socket.socket, stop: socket.socket, selector=None, max_buffer: int = 65536) -> int:
    """Echo every client of ``listener`` until ``stop`` is readable; return how many connected."""
    ### BEGIN SOLUTION
    class Conn:
        """One client: its socket, the bytes owed to it, and whether it has sent EOF."""

        def __init__(self, sock: socket.socket, sel: selectors.BaseSelector, max_buffer: int) -> None:
            self.sock, self.sel, self.max_buffer = sock, sel, max_buffer
            self.out = bytearray()
            self.eof = False
            self.done = False
            self.events = selectors.EVENT_READ
            sel.register(sock, self.events, self)

        def read(self) -> None:
            try:
                data = self.sock.recv(min(CHUNK, self.max_buffer - len(self.out)) or 1)
            except BlockingIOError:
                return
            if data:
                self.out += data
                self.write()                # try at once: usually it all fits
            else:
                self.eof = True
            self.update()

        def write(self) -> None:
            if self.out:
                try:
                    sent = self.sock.send(self.out)
                except BlockingIOError:
                    sent = 0
                del self.out[:sent]
            self.update()

        def update(self) -> None:
            """Watch for what can make progress: reading while there is room, writing while owed."""
            if self.done:
                return
            if self.eof and not self.out:
                self.close()
                return
            events = 0
            if not self.eof and len(self.out) < self.max_buffer:
                events |= selectors.EVENT_READ
            if self.out:
                events |= selectors.EVENT_WRITE
            if events != self.events:
                self.sel.modify(self.sock, events, self)
                self.events = events

        def close(self) -> None:
            if not self.done:
                self.done = True
                self.sel.unregister(self.sock)     # before close: a closed socket has no fd to find
                self.sock.close()

    own = selector is None
    sel = selectors.DefaultSelector() if own else selector
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(stop, selectors.EVENT_READ, "stop")
    accepted = 0
    conns: dict[socket.socket, Conn] = {}
    try:
        while True:
            for key, mask in sel.select():
                if key.data == "stop":
                    return accepted
                if key.data == "accept":
                    try:
                        sock, _ = listener.accept()
                    except (BlockingIOError, ConnectionAbortedError):   # gone before we took it
                        continue
                    sock.setblocking(False)
                    conns[sock] = Conn(sock, sel, max_buffer)
                    accepted += 1
                    continue
                conn = key.data
                try:
                    if mask & selectors.EVENT_READ:
                        conn.read()
                    if mask & selectors.EVENT_WRITE and not conn.done:
                        conn.write()
                except (ConnectionResetError, BrokenPipeError):
                    conn.close()
                if conn.done:
                    conns.pop(conn.sock, None)
    finally:
        for conn in list(conns.values()):
            conn.close()
        for sock in (listener, stop):
            try:
                sel.unregister(sock)
            except KeyError:
                pass
        if own:
            sel.close()
    ### END SOLUTION
