"""How many requests the client keeps in flight: a fixed number, or one it learns from the server.

A batching server (vLLM, SGLang) answers 64 requests in about the time of one; llama.cpp's server with one
slot generates one at a time, so every request sent beyond the first only waits in its queue, and a request
that waits past the client's timeout is abandoned, while the server still generates it (a wasted
generation). The adaptive limit finds what the server sustains by additive increase / multiplicative
decrease (AIMD, as TCP does):

- it starts at 1 request and doubles per window of answers (slow start) while latency holds, and grows
  only while the latency it would have if the server took the added requests one after another stays
  under half the timeout (a slow server is not pushed into timeouts to find out);
- latency "holds" while the median latency of a window of answers stays within `tolerance` (2x) of the
  lowest window median seen (what a request costs when it does not queue) and under half the timeout;
- a window whose latency blew up, a timeout, a 429, 503 or 504, or a dropped connection halves the limit
  (once per window: answers to requests sent before the cut do not cut again) and ends slow start;
  after that the limit grows by one per window.

Against a one-slot server the limit settles at 1-3 (the server never idles, nothing times out); against
a batching server it grows to the server's batch size or `maximum`.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass

OVERLOAD = "overload"  # timeouts, 429/503/504, dropped connections: the server has more than it can take
NEUTRAL = "neutral"  # an error that says nothing about load (500, malformed answers, 4xx)
OK = "ok"


@dataclass
class Ticket:
    epoch: int
    start: float


class ConcurrencyLimit:
    """An async gate for requests: `ticket = await acquire()`, then `release(ticket, outcome)`.

    Args:
        initial: requests in flight at first (fixed: always)
        adaptive: learn the limit from latency and errors (AIMD); False keeps `initial`
        maximum: the adaptive limit's ceiling
        tolerance: a window's median latency may grow to this many times the lowest seen before the limit
            is cut (and by more than `slack` seconds)
        timeout: the client's request timeout; a median latency over half of it also cuts the limit
    """

    def __init__(self, initial: int = 1, adaptive: bool = True, maximum: int = 256, tolerance: float = 2.0,
                 timeout: float | None = None, min_window: int = 4, slack: float = 0.05):
        if initial < 1 or maximum < 1:
            raise ValueError(f"concurrency must be at least 1, got {initial if initial < 1 else maximum}")
        self.adaptive = adaptive
        self.maximum = max(maximum, initial) if adaptive else initial
        self.limit = float(initial)
        self.tolerance = tolerance
        self.slack = slack  # seconds of latency growth too small to mean anything (network and scheduling jitter)
        self.timeout = timeout
        self.min_window = min_window
        self.in_flight = 0
        self.peak = initial
        self.decreases = 0
        self.baseline: float | None = None  # the lowest window median latency: a request that did not queue
        self.epoch = 0
        self.slow_start = adaptive
        self._window: list[float] = []
        self._saturated = False  # some request waited for a slot in this window (the limit, not the work, bound it)
        self._waiters: list[asyncio.Future] = []

    @property
    def current(self) -> int:
        return max(1, int(self.limit))

    async def acquire(self) -> Ticket:
        """Wait for a slot; slots go to waiting requests first come, first served."""
        if self.in_flight < self.current and not self._waiters:
            self.in_flight += 1
        else:
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            try:
                await fut  # the slot is ours when it resolves (taken for us in _wake)
            except asyncio.CancelledError:
                if fut in self._waiters:
                    self._waiters.remove(fut)
                elif fut.done() and not fut.cancelled():
                    self.in_flight -= 1  # given a slot, but gone: pass it on
                    self._wake()
                raise
        if self.in_flight >= self.current:
            self._saturated = True
        return Ticket(self.epoch, time.monotonic())

    def release(self, ticket: Ticket, outcome: str) -> None:
        self.in_flight -= 1
        if self.adaptive:
            if outcome == OVERLOAD:
                self._decrease(ticket)
            elif outcome == OK and ticket.epoch == self.epoch:
                self._answered(time.monotonic() - ticket.start)
        self._wake()

    def _answered(self, latency: float) -> None:
        self._window.append(latency)
        if len(self._window) < max(self.min_window, self.current):
            return
        median = statistics.median(self._window)
        self.baseline = median if self.baseline is None else min(self.baseline, median)
        blown = (median > self.tolerance * self.baseline and median - self.baseline > self.slack) or \
            (self.timeout and median > self.timeout / 2)
        if blown:
            self._decrease(None)
            return
        grown = min(self.maximum, self.limit * 2 if self.slow_start else self.limit + 1)
        # were the server to take the new requests one after another (one slot), latency would grow with the
        # limit: grow only while that still leaves half the timeout
        room = not self.timeout or median * grown / self.limit <= self.timeout / 2
        if self._saturated and room:  # only a limit that was used is known to hold
            self.limit = grown
            self.peak = max(self.peak, self.current)
        self._new_window()

    def _decrease(self, ticket: Ticket | None) -> None:
        if ticket is not None and ticket.epoch != self.epoch:
            return  # sent before the last cut: already answered for
        self.limit = max(1.0, self.limit / 2)
        self.slow_start = False
        self.decreases += 1
        self._new_window()

    def _new_window(self) -> None:
        self.epoch += 1
        self._window = []
        self._saturated = self.in_flight >= self.current

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.current:
            fut = self._waiters.pop(0)
            if not fut.done():
                self.in_flight += 1
                fut.set_result(None)

    def describe(self) -> dict:
        return {"mode": "auto" if self.adaptive else "fixed", "final": self.current, "peak": self.peak,
                "decreases": self.decreases,
                "baseline_latency_s": round(self.baseline, 3) if self.baseline is not None else None}
