"""The child side of the runner: import one learner module, run one request, report plain data.

This file is run as a script (``python -I -B _child.py``) in a fresh process for every call,
so it imports only the standard library and nothing else of coursekit. See runner.py for the
whole design; this side's duties are:

* read one JSON request from the request pipe;
* import the target module by name from its folder (so multiprocessing's spawn start method
  can import it again in worker processes);
* run either a named function of it (``call``) or a scenario function whose *source code* the
  parent sent (``run``) - the test files themselves never enter this process;
* write one length-prefixed JSON reply to the result pipe: the value, or the exception type,
  message and a traceback trimmed to the learner's code;
* leave with ``os._exit`` so that threads the learner left running cannot keep it alive.

On SIGUSR1 (sent by the parent at its deadline), faulthandler writes every thread's stack to
the stack pipe, so the learner sees where the code was stuck.
"""

import faulthandler
import json
import os
import signal
import struct
import sys
import traceback
import types

HARNESS = os.path.abspath(__file__)

# The harness's own references, taken before any learner code runs: code that patches
# json.dumps or os.write to rewrite its own reply patches names the harness no longer uses.
# (The code under test owns this process, so what a scenario *observes* inside it is only
# as honest as that code; verdicts are still reached in the parent, on plain data.)
_dumps = json.JSONEncoder(allow_nan=True).encode
_write = os.write
_pack = struct.pack
_exit = os._exit


def _send(fd: int, message: dict) -> None:
    try:
        data = _dumps(message).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError) as exc:
        data = _dumps({"ok": False, "type": "ResultNotPlainData", "message": str(exc), "traceback": ""}).encode()
    _write(fd, _pack(">Q", len(data)))
    view = memoryview(data)
    while view:
        n = _write(fd, view)
        view = view[n:]


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _trimmed_traceback(exc: BaseException, folder: str) -> str:
    """The traceback's frames (most recent call last), cut down to the learner's code: frames in their folder and in the
    scenario. The standard library's frames in between say little to a learner; if no frame
    is theirs (a bad argument caught deep inside a library), the innermost one stays."""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename.startswith("<scenario")
            or os.path.abspath(f.filename).startswith(folder + os.sep)]
    if not mine:
        mine = [f for f in frames[-1:] if os.path.abspath(f.filename) != HARNESS]
    text = "".join(traceback.format_list(mine))
    # Drop the ^^^^ lines under each source line: their layout changes between Python versions
    # and adds nothing the line number does not say.
    return "".join(ln for ln in text.splitlines(keepends=True) if ln.strip(" ^~\n"))


def _plain(value):
    """Check that `value` is plain data (JSON-able); tuples become lists."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise TypeError("a dict with non-string keys cannot be returned; use string keys")
        return {k: _plain(v) for k, v in value.items()}
    raise TypeError(f"a value of type {type(value).__name__} cannot be sent back; return plain data "
                    "(None, bool, int, float, str, list, tuple, dict)")


def main(request_fd: int, result_fd: int, stack_fd: int) -> None:
    faulthandler.register(signal.SIGUSR1, file=os.fdopen(stack_fd, "w", closefd=False), all_threads=True)
    request = json.loads(_read_all(request_fd))
    os.close(request_fd)
    # The script's own folder must not shadow anything the learner imports.
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(HARNESS)]
    folder = os.path.abspath(request["folder"])
    sys.path.insert(0, folder)
    reply: dict
    try:
        module = __import__(request["module"])
        if request["kind"] == "call":
            try:
                func = getattr(module, request["name"])
            except AttributeError:
                raise AttributeError(f"{request['module']}.py has no function {request['name']}(): "
                                     "did you rename or delete it?") from None
            value = func(*request["args"], **request["kwargs"])
        else:
            namespace: dict = {"__name__": "__scenario__"}
            exec(compile(request["source"], f"<scenario {request['name']}>", "exec"), namespace)
            value = namespace[request["name"]](module, *request["args"], **request["kwargs"])
            if isinstance(value, types.CoroutineType):   # an `async def` scenario runs on a fresh event loop
                import asyncio
                value = asyncio.run(value)
        reply = {"ok": True, "value": _plain(value)}
    except SystemExit as exc:
        reply = {"ok": False, "type": "SystemExit", "message": f"the code called sys.exit({exc.code!r})",
                 "traceback": _trimmed_traceback(exc, folder)}
    except BaseException as exc:  # KeyboardInterrupt and friends are the learner's too
        reply = {"ok": False, "type": type(exc).__name__, "message": str(exc),
                 "traceback": _trimmed_traceback(exc, folder)}
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except Exception:
        pass
    _send(result_fd, reply)
    _exit(0)


if __name__ == "__main__":
    main(*map(int, sys.argv[1:4]))
