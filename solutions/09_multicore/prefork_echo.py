"""Task 09.3: a pre-fork (预派生) echo service: one listening socket, one event loop per child.

One event loop uses one core. To serve with every core, nginx, gunicorn and uvicorn's
--workers bind the listening socket once and fork workers that all accept on it (or give
each worker its own socket on the same port with SO_REUSEPORT, and the kernel spreads the
connections). The parent serves nothing: it starts the children, and stops them.

def prefork_echo(n_workers, port=0) -> (port, pids, stop)
  Start n_workers child processes, each running an asyncio echo server on 127.0.0.1:port
  (port 0: any free port), and return the port actually listened on, the list of the
  children's pids and a function stop(). Rules, each one checked:
  1. Each line a client sends (bytes ending in b"\\n") is answered with one line
     b"<pid>:<line>\\n", where <pid> is os.getpid() of the child that serves the connection; a
     connection may carry many lines, answered in order. Every line is answered exactly once.
  2. Every reply comes from a child: its pid is one of `pids` and never the caller's.
  3. While serving, the n_workers children exist: `pids` holds n_workers distinct pids, each a
     live child process of the caller.
  4. When prefork_echo returns, the service accepts connections (no waiting, no retry).
  5. stop() ends every child and waits for each (no process is left, not even a zombie, 僵尸进程),
     and closes the port: a new connection to it is refused.
  6. n_workers must be an int >= 1: anything else raises ValueError before a process starts.
  How the connections are spread over the children is the kernel's business: it is not checked.

>>> import socket
>>> port, pids, stop = prefork_echo(2)
>>> with socket.create_connection(("127.0.0.1", port)) as s:
...     _ = s.sendall(b"hello\\n"); pid, line = s.makefile("rb").readline().split(b":", 1)
>>> int(pid) in pids, line
(True, b'hello\\n')
>>> stop()
"""

import asyncio
import os
import signal
import socket


def prefork_echo(n_workers, port=0):
    ### BEGIN SOLUTION 09.3
    if type(n_workers) is not int or n_workers < 1:
        raise ValueError(f"n_workers must be an int >= 1, got {n_workers!r}")
    # Bound and listening before the fork: every child inherits the same socket, and a client
    # that connects before a child reaches accept() waits in the kernel's backlog, not refused.
    listener = socket.create_server(("127.0.0.1", port), backlog=128)
    listener.setblocking(False)

    async def echo(reader, writer):
        prefix = f"{os.getpid()}:".encode()
        try:
            while line := await reader.readline():
                writer.write(prefix + line)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def serve():
        server = await asyncio.start_server(echo, sock=listener)
        async with server:
            await server.serve_forever()

    def child():
        # Serve until SIGTERM, whose default action ends the process. os._exit: the child must
        # never return into the caller's code, nor run the caller's atexit handlers.
        code = 0
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            asyncio.run(serve())
        except BaseException:
            code = 1
        finally:
            os._exit(code)

    pids = []
    for _ in range(n_workers):
        pid = os.fork()
        if pid == 0:
            child()
        pids.append(pid)

    def stop():
        listener.close()                 # the parent's copy: with it the port would stay open
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for pid in pids:
            os.waitpid(pid, 0)           # reaps it: no zombie left

    return listener.getsockname()[1], pids, stop
    ### END SOLUTION
