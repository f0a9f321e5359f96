"""Per-connection token bucket (PROTOCOL.md §4.4): refilled at `rate` frames/s, room for
`burst`. A frame without a token is refused; a client that keeps the bucket empty for
`close_after_s` is closed (1008)."""

from __future__ import annotations

import time


class TokenBucket:
    __slots__ = ("_burst", "_close_after_s", "_empty_since", "_rate", "_stamp", "_tokens")

    def __init__(self, rate: float, burst: int, close_after_s: float = 5.0) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._close_after_s = close_after_s
        self._empty_since: float | None = None

    def take(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens >= 1.0:
            # a client that only gets the odd refilled token through is still flooding;
            # it has recovered once the bucket holds more than that
            if self._tokens >= 2.0:
                self._empty_since = None
            self._tokens -= 1.0
            return True
        if self._empty_since is None:
            self._empty_since = now
        return False

    def exhausted_for_too_long(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return self._empty_since is not None and now - self._empty_since >= self._close_after_s
