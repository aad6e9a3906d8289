"""Task 04.3: an HTTP fetcher written as callbacks (回调): a state machine (状态机) on a loop.

Before coroutines, asynchronous code was a set of callbacks that the loop calls when a socket
is ready; what would be local variables of one function (the socket, the bytes sent so far,
the chunks read so far) live in an object, and "where am I" is a state. Write

    fetch(loop, address, path, on_done)

which downloads ``path`` from the HTTP server at ``address`` (a ``(host, port)`` pair) over a
non-blocking socket and returns at once; the work happens in callbacks on ``loop``, which has
``add_reader(fileobj, callback, *args)``, ``remove_reader(fileobj)``, ``add_writer(...)``,
``remove_writer(fileobj)`` and ``call_soon(callback, *args)`` (lesson 04's loop has them all).
Many fetches may run on one loop at once.

The states, in order:

- CONNECTING: create the socket with ``socket.socket()``, make it non-blocking, and start
  the connection with ``connect_ex`` (it returns ``EINPROGRESS`` at once). When the socket is
  writable the connection is made or has failed: ``getsockopt(SOL_SOCKET, SO_ERROR)`` says
  which (``0``, or an errno: ``OSError(errno, os.strerror(errno))`` builds the matching
  exception, ``ConnectionRefusedError`` for ``ECONNREFUSED``).
- SENDING: send ``GET <path> HTTP/1.0\\r\\nHost: <host>\\r\\n\\r\\n`` each time the socket is
  writable. ``send`` may take only part of it (a long path does not fit in the socket's
  buffer): keep the rest for the next time.
- READING: each time the socket is readable, ``recv`` a chunk and keep it; ``b""`` means the
  server has closed: the response is complete.
- DONE.

Rules the tests check:

1. fetch() never blocks the loop: no blocking socket call, no waiting in a callback. (A
   server page answers only after another fetch has finished.)
2. ``on_done(None, response)`` with every byte the server sent (headers included), once it
   has closed the connection; the request went out whole, however long the path.
3. On an error - the connection refused, the server breaking the connection (reset), any
   ``OSError`` from the socket - ``on_done(exc, None)`` with that exception.
4. ``on_done`` is called exactly once per fetch, and never before fetch() has returned (an
   error found at once is reported through ``loop.call_soon``), so the caller can rely on
   one order.
5. In every path, success or error: the socket is closed, and no reader or writer of it is
   left on the loop (remove it before closing the socket).
"""

import errno
import os
import socket


### BEGIN SOLUTION
class _Fetch:
    """One download: the state machine's state lives in its attributes."""

    def __init__(self, loop, address, path, on_done):
        self.loop, self.on_done = loop, on_done
        self.request = f"GET {path} HTTP/1.0\r\nHost: {address[0]}\r\n\r\n".encode()
        self.sent = 0
        self.chunks = []
        self.state = "CONNECTING"
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setblocking(False)
        code = self.sock.connect_ex(address)
        if code in (0, errno.EINPROGRESS):
            loop.add_writer(self.sock, self.connected)
        else:
            # Report it from the loop, never from inside fetch(): on_done always comes later.
            loop.call_soon(self.finish, OSError(code, os.strerror(code)), None)

    def connected(self):
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self.finish(OSError(code, os.strerror(code)), None)
            return
        self.state = "SENDING"
        self.loop.add_writer(self.sock, self.send_more)     # replaces the connect callback

    def send_more(self):
        try:
            self.sent += self.sock.send(self.request[self.sent:])
        except (BlockingIOError, InterruptedError):
            return                                          # not writable after all: wait again
        except OSError as exc:
            self.finish(exc, None)
            return
        if self.sent == len(self.request):
            self.state = "READING"
            self.loop.remove_writer(self.sock)
            self.loop.add_reader(self.sock, self.read_more)

    def read_more(self):
        try:
            chunk = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.finish(exc, None)
            return
        if chunk:
            self.chunks.append(chunk)
        else:
            self.finish(None, b"".join(self.chunks))

    def finish(self, error, response):
        if self.state == "DONE":
            return
        self.state = "DONE"
        self.loop.remove_reader(self.sock)      # before close: a closed socket has no fd to look up
        self.loop.remove_writer(self.sock)
        self.sock.close()
        self.on_done(error, response)
### END SOLUTION
### BEGIN STUB
# # Suggested shape: a class whose attributes are the state (socket, bytes sent, chunks read,
# # state name) and whose methods are the callbacks the loop calls when the socket is ready.
### END STUB


def fetch(loop, address, path, on_done):
    ### BEGIN SOLUTION
    _Fetch(loop, address, path, on_done)
    ### END SOLUTION
