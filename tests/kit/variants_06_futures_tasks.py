"""Alternative correct and plausible wrong solutions of lesson 06's tasks (06.1-06.3).

tests/kit/test_variants_06_futures_tasks.py grades each against tests/test_06_futures_tasks.py:
every alternative must pass every test of its task, and every wrong one must fail, with the
tests named here (those of the rule it breaks) among the failures. Each wrong solution is the
alternative with one rule broken, so what it loses is that rule's doing.

Each entry: (name, task file, source text, None for "correct" or the set of tests that must fail).
"""


from variant_grading import changed as _changed


# ---------------------------------------------------------------- 06.1 Future

# A deque of callbacks, one `_outcome` tuple instead of three fields, __await__ written with
# an explicit flag check: the same rules, another shape.
FUTURE_ALT = '''
import asyncio
from collections import deque

_PENDING = object()


class Future:
    _asyncio_future_blocking = False

    def __init__(self, loop):
        self._loop = loop
        self._outcome = _PENDING        # ("ok", value) | ("err", exc) | ("cancelled", msg)
        self._waiting = deque()

    def get_loop(self):
        return self._loop

    def done(self):
        return self._outcome is not _PENDING

    def cancelled(self):
        return self.done() and self._outcome[0] == "cancelled"

    def _check_done(self):
        if not self.done():
            raise asyncio.InvalidStateError("not done")
        kind, payload = self._outcome
        if kind == "cancelled":
            raise asyncio.CancelledError() if payload is None else asyncio.CancelledError(payload)
        return kind, payload

    def result(self):
        kind, payload = self._check_done()
        if kind == "err":
            raise payload
        return payload

    def exception(self):
        kind, payload = self._check_done()
        return payload if kind == "err" else None

    def _finish(self, outcome):
        if self.done():
            raise asyncio.InvalidStateError("already done")
        self._outcome = outcome
        while self._waiting:
            fn, ctx = self._waiting.popleft()
            self._loop.call_soon(fn, self, context=ctx)

    def set_result(self, result):
        self._finish(("ok", result))

    def set_exception(self, exception):
        self._finish(("err", exception))

    def cancel(self, msg=None):
        if self.done():
            return False
        self._finish(("cancelled", msg))
        return True

    def add_done_callback(self, fn, *, context=None):
        if self.done():
            self._loop.call_soon(fn, self, context=context)
            return
        self._waiting.append((fn, context))

    def remove_done_callback(self, fn):
        before = len(self._waiting)
        self._waiting = deque(item for item in self._waiting if item[0] != fn)
        return before - len(self._waiting)

    def __await__(self):
        if self._outcome is _PENDING:
            self._asyncio_future_blocking = True
            yield self
            if self._outcome is _PENDING:
                raise RuntimeError("await wasn't used with future")
        return self.result()

    __iter__ = __await__
'''

FUTURE_WRONG = {
    "pending_result_is_none": (_changed(FUTURE_ALT, [(
        '            raise asyncio.InvalidStateError("not done")\n', '            return "ok", None\n')]),
        {"test_a_new_future_is_pending"}),
    "raises_a_copy": (_changed(FUTURE_ALT, [("            raise payload\n", "            raise type(payload)(*payload.args)\n")]),
                      {"test_set_result_and_set_exception_finish_the_future"}),
    "second_result_wins": (_changed(FUTURE_ALT, [(
        '        if self.done():\n            raise asyncio.InvalidStateError("already done")\n', "")]),
        {"test_a_done_future_cannot_be_completed_again"}),
    "cancel_forgets_msg": (_changed(FUTURE_ALT, [(
        "raise asyncio.CancelledError() if payload is None else asyncio.CancelledError(payload)",
        "raise asyncio.CancelledError()")]),
        {"test_cancel"}),
    "cancel_done_says_true": (_changed(FUTURE_ALT, [(
        "        if self.done():\n            return False\n", "        if self.done():\n            return True\n")]),
        {"test_cancel"}),
    "calls_callbacks_itself": (_changed(FUTURE_ALT, [(
        "            self._loop.call_soon(fn, self, context=ctx)\n", "            fn(self)\n")]),
        {"test_callbacks_run_in_the_next_pass_in_order"}),
    "callbacks_last_first": (_changed(FUTURE_ALT, [("fn, ctx = self._waiting.popleft()", "fn, ctx = self._waiting.pop()")]),
                             {"test_callbacks_run_in_the_next_pass_in_order"}),
    "late_callback_kept_waiting": (_changed(FUTURE_ALT, [(
        "        if self.done():\n            self._loop.call_soon(fn, self, context=context)\n            return\n", "")]),
        {"test_callbacks_run_in_the_next_pass_in_order"}),
    "context_dropped": (_changed(FUTURE_ALT, [("            self._loop.call_soon(fn, self, context=ctx)\n",
                                               "            self._loop.call_soon(fn, self)\n")]),
                        {"test_callbacks_run_in_the_next_pass_in_order", "test_a_real_asyncio_task_can_await_it"}),
    "removes_one_only": (_changed(FUTURE_ALT, [(
        "        self._waiting = deque(item for item in self._waiting if item[0] != fn)\n",
        "        for item in self._waiting:\n            if item[0] == fn:\n                self._waiting.remove(item)\n"
        "                break\n")]),
        {"test_remove_done_callback"}),
    "callbacks_kept_after_done": (_changed(FUTURE_ALT, [(
        "        while self._waiting:\n            fn, ctx = self._waiting.popleft()\n",
        "        for fn, ctx in list(self._waiting):\n")]),
        {"test_remove_done_callback"}),
    "no_blocking_flag": (_changed(FUTURE_ALT, [("            self._asyncio_future_blocking = True\n", "")]),
                         {"test_await_yields_the_pending_future_and_returns_its_result",
                          "test_a_real_asyncio_task_can_await_it"}),
    "yields_when_done": (_changed(FUTURE_ALT, [(
        "        if self._outcome is _PENDING:\n            self._asyncio_future_blocking = True\n            yield self\n"
        "            if self._outcome is _PENDING:\n",
        "        if True:\n            self._asyncio_future_blocking = True\n            yield self\n"
        "            if self._outcome is _PENDING:\n")]),
        {"test_await_yields_the_pending_future_and_returns_its_result"}),
    "resumed_early_not_checked": (_changed(FUTURE_ALT, [(
        "            if self._outcome is _PENDING:\n                raise RuntimeError(\"await wasn't used with future\")\n", "")]),
        {"test_await_yields_the_pending_future_and_returns_its_result"}),
}


# ---------------------------------------------------------------- 06.2 Task

# Another shape: one _resume(exc) entry point for the first step, bare yields and wake-ups;
# the waiter kept as _waiting_on; cancellation as a pending exception object.
TASK_ALT = '''
import asyncio


class Task(asyncio.Future):
    def __init__(self, coro, *, loop):
        super().__init__(loop=loop)
        self._coro = coro
        self._waiting_on = None
        self._pending_cancel = None           # a CancelledError to deliver at the next step
        loop.call_soon(self._resume, None)

    def cancel(self, msg=None):
        if self.done():
            return False
        waiter = self._waiting_on
        if waiter is not None and not waiter.done():
            waiter.cancel(msg)
            return True
        self._pending_cancel = asyncio.CancelledError() if msg is None else asyncio.CancelledError(msg)
        return True

    def _woken(self, fut):
        if fut.cancelled():
            self._resume(asyncio.CancelledError())
        elif fut.exception() is not None:
            self._resume(fut.exception())
        else:
            self._resume(None)

    def _resume(self, exc):
        if self._pending_cancel is not None:
            exc, self._pending_cancel = self._pending_cancel, None
        self._waiting_on = None
        try:
            if exc is None:
                yielded = self._coro.send(None)
            else:
                yielded = self._coro.throw(exc)
        except StopIteration as stop:
            asyncio.Future.set_result(self, stop.value)
            return
        except asyncio.CancelledError:
            asyncio.Future.cancel(self)
            return
        except BaseException as error:
            asyncio.Future.set_exception(self, error)
            return
        if yielded is None:
            self._loop.call_soon(self._resume, None)
        elif getattr(yielded, "_asyncio_future_blocking", False) is True:
            yielded._asyncio_future_blocking = False
            self._waiting_on = yielded
            yielded.add_done_callback(self._woken)
        else:
            self._loop.call_soon(self._resume, RuntimeError(f"bad yield {yielded!r}"))
'''

TASK_WRONG = {
    "eager_first_step": (_changed(TASK_ALT, [("        loop.call_soon(self._resume, None)\n", "        self._resume(None)\n")]),
                         {"test_the_first_step_is_scheduled_not_run"}),
    "bare_yield_steps_at_once": (_changed(TASK_ALT, [("        if yielded is None:\n            self._loop.call_soon(self._resume, None)\n",
                                                      "        if yielded is None:\n            self._resume(None)\n")]),
                                 {"test_a_bare_yield_resumes_in_the_next_pass"}),
    "flag_left_set": (_changed(TASK_ALT, [("            yielded._asyncio_future_blocking = False\n", "")]),
                      {"test_an_awaited_future_wakes_the_task_the_pass_after_it_completes"}),
    "wakeup_a_pass_late": (_changed(TASK_ALT, [(
        "        else:\n            self._resume(None)\n", "        else:\n            self._loop.call_soon(self._resume, None)\n")]),
        {"test_an_awaited_future_wakes_the_task_the_pass_after_it_completes"}),
    "polls_the_future": (_changed(TASK_ALT, [(
        "            self._waiting_on = yielded\n            yielded.add_done_callback(self._woken)\n",
        "            self._waiting_on = yielded\n            self._loop.call_soon(self._resume, None)\n")]),
        {"test_an_awaited_future_wakes_the_task_the_pass_after_it_completes"}),
    "never_throws_the_exception": (_changed(TASK_ALT, [(
        "        elif fut.exception() is not None:\n            self._resume(fut.exception())\n", "")]),
        {"test_an_exception_or_cancellation_of_the_future_is_thrown_in"}),
    "bad_yield_like_bare_yield": (_changed(TASK_ALT, [(
        '            self._loop.call_soon(self._resume, RuntimeError(f"bad yield {yielded!r}"))\n',
        "            self._loop.call_soon(self._resume, None)\n")]),
        {"test_yielding_something_else_throws_a_runtime_error_next_pass"}),
    "bad_yield_fails_the_task": (_changed(TASK_ALT, [(
        '            self._loop.call_soon(self._resume, RuntimeError(f"bad yield {yielded!r}"))\n',
        '            asyncio.Future.set_exception(self, RuntimeError(f"bad yield {yielded!r}"))\n')]),
        {"test_yielding_something_else_throws_a_runtime_error_next_pass"}),
    "exception_becomes_none": (_changed(TASK_ALT, [("            asyncio.Future.set_exception(self, error)\n",
                                                    "            asyncio.Future.set_result(self, None)\n")]),
                               {"test_the_task_ends_as_its_coroutine"}),
    "cancelled_error_as_exception": (_changed(TASK_ALT, [(
        "        except asyncio.CancelledError:\n            asyncio.Future.cancel(self)\n            return\n", "")]),
        {"test_the_task_ends_as_its_coroutine"}),
    "cancel_never_cancels_the_waiter": (_changed(TASK_ALT, [(
        "        if waiter is not None and not waiter.done():\n            waiter.cancel(msg)\n            return True\n", "")]),
        {"test_cancel_while_waiting_cancels_the_awaited_future"}),
    "cancel_only_the_waiter": (_changed(TASK_ALT, [(
        "        self._pending_cancel = asyncio.CancelledError() if msg is None else asyncio.CancelledError(msg)\n", "")]),
        {"test_cancel_while_a_step_is_scheduled_is_thrown_at_that_step",
         "test_cancel_after_the_future_completed_still_cancels"}),
    "trusts_a_done_waiter": (_changed(TASK_ALT, [(
        "        if waiter is not None and not waiter.done():\n            waiter.cancel(msg)\n",
        "        if waiter is not None:\n            waiter.cancel(msg)\n")]),
        {"test_cancel_after_the_future_completed_still_cancels"}),
    "cancelled_even_if_caught": (_changed(TASK_ALT, [(
        "        except StopIteration as stop:\n            asyncio.Future.set_result(self, stop.value)\n",
        "        except StopIteration as stop:\n            if isinstance(exc, asyncio.CancelledError):\n"
        "                asyncio.Future.cancel(self)\n                return\n"
        "            asyncio.Future.set_result(self, stop.value)\n")]),
        {"test_cancel_while_waiting_cancels_the_awaited_future",
         "test_cancel_while_a_step_is_scheduled_is_thrown_at_that_step"}),
    "cancel_done_says_true": (_changed(TASK_ALT, [("        if self.done():\n            return False\n",
                                                   "        if self.done():\n            return True\n")]),
                              {"test_cancel_while_waiting_cancels_the_awaited_future"}),
}


# ---------------------------------------------------------------- 06.3 crawler

# A task per URL under an asyncio.Semaphore (not a queue of workers), sockets in `with`
# blocks, the status read with a regular expression; crawl waits on the set of live tasks.
CRAWL_ALT = '''
import asyncio
import re
import socket
from urllib.parse import urljoin, urlsplit

LINK = re.compile(r'href="([^"]*)"')
STATUS = re.compile(r"^HTTP/\\S+ (\\d{3})")


async def get(url):
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, (parts.hostname, parts.port))
        request = f"GET {parts.path or '/'} HTTP/1.0\\r\\nHost: {parts.netloc}\\r\\n\\r\\n"
        await loop.sock_sendall(sock, request.encode())
        data = bytearray()
        while True:
            chunk = await loop.sock_recv(sock, 4096)
            if not chunk:
                break
            data += chunk
    text = data.decode("latin-1")
    head, _, body = text.partition("\\r\\n\\r\\n")
    status = int(STATUS.match(head).group(1))
    location = None
    for line in head.split("\\r\\n")[1:]:
        if line.lower().startswith("location:"):
            location = line.split(":", 1)[1].strip()
    return status, location, body


async def crawl(root_url, max_tasks):
    limit = asyncio.Semaphore(max_tasks)
    where = urlsplit(root_url)
    seen = set()
    statuses = {}
    live = set()

    def visit(url):
        parts = urlsplit(url)
        if (parts.scheme, parts.hostname, parts.port) != (where.scheme, where.hostname, where.port):
            return
        if url in seen:
            return
        seen.add(url)
        live.add(asyncio.ensure_future(one(url)))

    async def one(url):
        async with limit:
            status, location, body = await get(url)
        statuses[url] = status
        if status in (301, 302, 303, 307, 308) and location:
            visit(urljoin(url, location))
        elif status == 200:
            for href in LINK.findall(body):
                visit(urljoin(url, href))

    visit(root_url)
    while live:
        finished, _ = await asyncio.wait(live)
        live.difference_update(finished)
        for t in finished:
            t.result()
    return statuses
'''

CRAWL_WRONG = {
    "ignores_redirects": (_changed(CRAWL_ALT, [("        if status in (301, 302, 303, 307, 308) and location:\n            visit(urljoin(url, location))\n        elif status == 200:\n",
                                                "        if status == 200:\n")]),
                          {"test_follows_redirects_and_counts_both_urls"}),
    "redirect_not_counted": (_changed(CRAWL_ALT, [("        statuses[url] = status\n",
                                                   "        if status not in (301, 302):\n            statuses[url] = status\n")]),
                             {"test_follows_redirects_and_counts_both_urls"}),
    "parses_error_pages": (_changed(CRAWL_ALT, [("        elif status == 200:\n", "        else:\n")]),
                           {"test_error_pages_are_fetched_but_not_parsed"}),
    "any_port_on_the_host": (_changed(CRAWL_ALT, [("(parts.scheme, parts.hostname, parts.port) != (where.scheme, where.hostname, where.port)",
                                                   "(parts.scheme, parts.hostname) != (where.scheme, where.hostname)")]),
                             {"test_finds_exactly_the_sites_urls_with_their_statuses"}),
    "seen_once_fetched": (_changed(CRAWL_ALT, [("        if url in seen:\n            return\n        seen.add(url)\n",
                                                "        if url in statuses:\n            return\n")]),
                          {"test_every_url_is_fetched_exactly_once"}),
    "one_too_many": (_changed(CRAWL_ALT, [("asyncio.Semaphore(max_tasks)", "asyncio.Semaphore(max_tasks + 1)")]),
                     {"test_never_more_than_max_tasks_fetches_at_once"}),
    "socket_opened_outside_the_limit": (_changed(CRAWL_ALT, [
        ("async def get(url):\n", "async def get(url, limit):\n"),
        ("    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:\n        sock.setblocking(False)\n",
         "    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n    await asyncio.sleep(0)\n"
         "    async with limit:\n      with sock:\n        sock.setblocking(False)\n"),
        ("        async with limit:\n            status, location, body = await get(url)\n",
         "        status, location, body = await get(url, limit)\n")]),
        {"test_never_more_than_max_tasks_fetches_at_once"}),
    "blocking_sockets": (_changed(CRAWL_ALT, [
        ("        sock.setblocking(False)\n        await loop.sock_connect(sock, (parts.hostname, parts.port))\n",
         "        sock.connect((parts.hostname, parts.port))\n"),
        ("        await loop.sock_sendall(sock, request.encode())\n", "        sock.sendall(request.encode())\n"),
        ("            chunk = await loop.sock_recv(sock, 4096)\n", "            chunk = sock.recv(4096)\n")]),
        {"test_keeps_fetching_while_one_page_answers_late"}),
    # gather() takes the tasks that exist when it is called: here only the root's, so crawl
    # returns as soon as the root page is read, its children still in flight.
    "returns_before_the_children": (_changed(CRAWL_ALT, [(
        "    while live:\n        finished, _ = await asyncio.wait(live)\n        live.difference_update(finished)\n"
        "        for t in finished:\n            t.result()\n",
        "    await asyncio.gather(*live)\n")]),
        {"test_finds_exactly_the_sites_urls_with_their_statuses", "test_keeps_fetching_while_one_page_answers_late"}),
    "socket_left_open_unless_200": (_changed(CRAWL_ALT, [
        ("    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:\n",
         "    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n    if True:\n"),
        ("    status = int(STATUS.match(head).group(1))\n",
         "    status = int(STATUS.match(head).group(1))\n    if status == 200:\n        sock.close()\n")]),
        {"test_every_socket_is_closed"}),
}

# This one waits out the tests' 10 s safety net (a /slow page that the crawler blocks on): the
# variant tests start it first, so that the others run meanwhile.
SLOW = {("blocking_sockets", "bounded_crawler.py")}

VARIANTS = (
    [("alt", "mini_future.py", FUTURE_ALT, None)]
    + [(n, "mini_future.py", src, must) for n, (src, must) in FUTURE_WRONG.items()]
    + [("alt", "mini_task.py", TASK_ALT, None)]
    + [(n, "mini_task.py", src, must) for n, (src, must) in TASK_WRONG.items()]
    + [("alt", "bounded_crawler.py", CRAWL_ALT, None)]
    + [(n, "bounded_crawler.py", src, must) for n, (src, must) in CRAWL_WRONG.items()]
)
