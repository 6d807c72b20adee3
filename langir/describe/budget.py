"""The hard cost cap and the per-minute rate limits of a run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque


class Budget:
    """The hard cost cap: reserve a request's worst case before sending, settle with what it cost.

    A request that may have been billed without a readable answer (a 200 with a broken body, a
    timeout after it was sent) is settled at its worst case: the cap holds with any fault mix.
    `settle` is synchronous so that nothing can cancel the step between reading a reply and
    recording it.
    """

    def __init__(self, cap: float | None):
        self.cap = cap
        self.spent = 0.0
        self.reserved = 0.0
        self.holders = 0  # reservations not settled yet (a count: float sums leave residues)
        self.cond = asyncio.Condition()
        self.closed = False  # set on interrupt: waiters give up
        self.waiting = 0  # reservations waiting for room (settle wakes them only when there are some)

    def try_reserve(self, worst: float) -> bool:
        """Reserve `worst` if it fits now (no waiting; the batch path)."""
        if self.cap is not None and self.spent + self.reserved + worst > self.cap:
            return False
        self.reserved += worst
        self.holders += 1
        return True

    async def reserve(self, worst: float) -> bool:
        """True when `worst` fits now; waits while requests in flight may still free room."""
        if self.cap is None:
            return self.try_reserve(worst)
        async with self.cond:
            while not self.closed:
                if self.try_reserve(worst):
                    return True
                if self.holders <= 0:  # nothing in flight can free room
                    return False
                self.waiting += 1
                try:
                    await self.cond.wait()
                finally:
                    self.waiting -= 1
            return False

    def settle(self, worst: float, actual: float) -> None:
        """Release the reservation `worst`, count `actual` as spent, wake the waiters."""
        self.holders -= 1
        self.reserved = max(0.0, self.reserved - worst) if self.holders else 0.0
        self.spent += actual
        if self.waiting:  # a task per settle otherwise: ≈ 40 µs of loop time per request
            with contextlib.suppress(RuntimeError):  # no loop (the batch path): nobody waits
                asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self.cond:
            self.cond.notify_all()

    async def close(self) -> None:
        async with self.cond:
            self.closed = True
            self.cond.notify_all()


class RateLimiter:
    """Requests-per-minute and tokens-per-minute over a sliding 60 s window.

    Hand-written (a dozen lines) because no limiter library is installed and the window logic is
    all we need; `acquire` waits until both budgets have room.
    """

    def __init__(self, rpm: float | None, tpm: float | None, window: float = 60.0):
        self.rpm, self.tpm, self.window = rpm, tpm, window
        self.events: deque[tuple[float, int]] = deque()
        self.lock = asyncio.Lock()

    async def acquire(self, tokens: int) -> None:
        if not self.rpm and not self.tpm:
            return
        async with self.lock:
            while True:
                now = time.monotonic()
                while self.events and now - self.events[0][0] >= self.window:
                    self.events.popleft()
                used = sum(t for _, t in self.events)
                ok_r = not self.rpm or len(self.events) < self.rpm
                ok_t = not self.tpm or used + tokens <= self.tpm or not self.events
                if ok_r and ok_t:
                    self.events.append((now, tokens))
                    return
                await asyncio.sleep(max(0.01, self.window - (now - self.events[0][0])))
