"""Operations endpoints: liveness and readiness (metrics are served by Litestar's
Prometheus controller)."""

from __future__ import annotations

from litestar import Response, get

from server.context import AppContext


@get("/healthz", include_in_schema=False)
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@get("/readyz", include_in_schema=False)
async def readyz(ctx: AppContext) -> Response[dict[str, object]]:
    checks = await ctx.check_ready()
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks},
        status_code=200 if ok else 503,
    )
