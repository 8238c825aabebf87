"""An asyncio event loop whose clock the test controls, for code that waits.

Time on this loop moves only when the loop has nothing else to do: it then jumps straight
to the next timer (``asyncio.sleep``, ``call_later``, ``wait_for`` timeouts, a rate
limiter's wake-up). A test therefore sees the exact instants the code asks for — a long
poll with a 5 s timeout answers at 5.000 on this clock after microseconds of real time —
and asserts on those instants and on order, never on how fast the machine happened to be.

Three details keep it faithful:

* Every turn of the loop costs one nanosecond. Code that waits "until the moment" from
  float arithmetic (aiolimiter's leaky bucket) can be woken a hair early, find no capacity
  yet and ask for the same instant again; on a clock that stands still that is a busy loop
  forever, while on a real clock (and on this one) the next reading has moved on. So
  instants are exact to within a few microseconds, not to the last bit.
* Real sockets work (an aiohttp server and client in the same loop): while any socket is
  open, the loop first waits up to ``IDLE_GRACE`` of real time for bytes in flight before
  it jumps, so a reply being written is never overtaken by a timer.
* Work in threads (``run_in_executor``, ``asyncio.to_thread``) is waited for in real time:
  the clock does not jump while a thread the loop started is still running.

Use it from a plain (sync) test: ``run(main)`` runs ``main()`` on a new loop of this kind
(pytest-asyncio's own loop is left alone).
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Callable, Coroutine
from concurrent.futures import Executor
from typing import Any, TypeVar

T = TypeVar("T")

TURN = 1e-9  # what one turn of the loop costs on the virtual clock, in seconds
IDLE_GRACE = 0.05  # real seconds to wait for socket I/O before the clock jumps


class _Selector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    def __init__(self, loop: VirtualClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        loop = self._loop
        loop.now += TURN
        ready: list[tuple[selectors.SelectorKey, int]] = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None or loop.threads_running():
            # Only the outside world (a socket, a thread) can wake the loop: wait for it in
            # real time. Without a timer the loop would wait just as long on a real clock.
            return super().select(timeout if timeout is None else IDLE_GRACE)
        if len(self.get_map()) > 1:  # more than the loop's own wake-up pipe: sockets
            ready = super().select(IDLE_GRACE)
            if ready:
                return ready
        loop.now += timeout  # nothing can happen before the next timer: go there
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop on a virtual clock that starts at 0."""

    def __init__(self) -> None:
        self.now = 0.0
        self._threads: set[asyncio.Future[Any]] = set()
        super().__init__(_Selector(self))

    def time(self) -> float:
        return self.now

    def run_in_executor(
        self, executor: Executor | None, func: Callable[..., T], *args: Any
    ) -> asyncio.Future[T]:
        future = super().run_in_executor(executor, func, *args)
        self._threads.add(future)
        future.add_done_callback(self._threads.discard)
        return future

    def threads_running(self) -> bool:
        return any(not future.done() for future in self._threads)


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run ``main()`` to completion on a fresh loop with a virtual clock."""
    with asyncio.Runner(loop_factory=VirtualClockLoop) as runner:
        return runner.run(main())
