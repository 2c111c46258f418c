"""Per-IP rate limits on the anonymous calls that cost the server a password hash (log-in, sign-up):
a token bucket per client address (`PUHUI_AUTH_RATE_PER_MINUTE`, 0 turns it off). Over the limit the call
is a 429 problem (`rate_limited`) with `Retry-After`, before any work. The per-phone lock
(`identity.throttle`) protects each customer; this protects the server from one address's flood."""

from __future__ import annotations

import math
import threading
import time

from fastapi import Request

from puhui.errors import PuhuiError


class RateLimited(PuhuiError):
    code = "rate_limited"
    status = 429
    title = "Too many requests from this address; slow down"


class Buckets:
    """Token buckets by key: `rate` tokens a minute, at most `rate` saved up. Monotonic time: this is
    traffic control, not business time."""

    def __init__(self, rate: int) -> None:
        self.rate, self._lock = rate, threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float | None:
        """None when a token was taken; else the seconds until the next one."""
        now = time.monotonic()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.rate), now))
            tokens = min(float(self.rate), tokens + (now - then) * self.rate / 60)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1 - tokens) * 60 / self.rate


async def limit_auth_calls(request: Request) -> None:
    """A dependency: one token of the caller's address for a call that hashes a password."""
    state = request.app.state
    rate = state.settings.auth_rate_per_minute
    if rate <= 0:
        return
    buckets = getattr(state, "auth_buckets", None)
    if buckets is None:
        buckets = state.auth_buckets = Buckets(rate)
    wait = buckets.take(request.client.host if request.client else "unknown")
    if wait is not None:
        raise RateLimited(
            f"at most {rate} log-ins and sign-ups a minute from one address", retry_after_seconds=math.ceil(wait)
        )
