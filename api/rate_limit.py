"""Per-key rate limits on the generation routes: API_RATE_LIMIT_PER_MINUTE in a moving window, 429 past it."""

import math
import time
from typing import Final

from fastapi import Request
from limits import RateLimitItemPerMinute
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from api.auth import KEY_ID
from api.errors import ApiError
from api.observability import RATE_LIMITED
from api.problems import ErrorCode

# The `limits` package's in-memory moving window: exact (no burst of twice the limit at a window edge, as fixed
# windows allow), and per process, which is what one gateway process needs; several gateways behind one
# balancer would each allow the limit (limits also has a Redis storage for that).
NAMESPACE: Final = "generate"


class RateLimiter:
    """At most `per_minute` generations per client in any 60 s; a client is an API key, or an address without keys."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute, namespace=NAMESPACE)
        # Made inside the running event loop (the app's lifespan): the storage's locks and expiry task belong to it.
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def seconds_until_allowed(self, client: str) -> int:
        """0 when this request is allowed (and counted), else the seconds until the oldest one leaves the window."""
        if await self._limiter.hit(self._item, client):
            return 0
        stats = await self._limiter.get_window_stats(self._item, client)
        return max(1, math.ceil(stats.reset_time - time.time()))


def client_of(request: Request) -> tuple[str, str]:
    """Who is counted, and how the message names it: the API key (its digest), or the client's address."""
    key_id: str | None = request.scope.get("state", {}).get(KEY_ID)
    if key_id is not None:
        return f"key:{key_id}", "this API key"
    # Behind a proxy this is the proxy's address unless uvicorn trusts its X-Forwarded-For (FORWARDED_ALLOW_IPS).
    address = request.client.host if request.client else "unknown"
    return f"address:{address}", f"this address ({address})"


async def enforce_rate_limit(request: Request) -> None:
    """Route dependency: 429 rate_limited with Retry-After once the client used up its requests of the minute.

    A dependency of the generation routes only (not /health, /ready): they are what costs GPU time.
    """
    limiter: RateLimiter | None = request.app.state.rate_limiter
    if limiter is None:
        return
    client, named = client_of(request)
    wait = await limiter.seconds_until_allowed(client)
    if wait:
        RATE_LIMITED.labels(request.url.path).inc()
        message = (
            f"{named} sent more than {limiter.per_minute} generation requests in a minute "
            f"(API_RATE_LIMIT_PER_MINUTE); retry in {wait} s"
        )
        raise ApiError(429, ErrorCode.RATE_LIMITED, message, {"Retry-After": str(wait)})
