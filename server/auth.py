"""Access tokens: short-lived JWTs through Litestar's JWT auth, for HTTP and the WebSocket."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.security.jwt import JWTAuth, Token

from domain.errors import Unauthorized

ALGORITHM = "HS256"
# reachable without a token: operations, the OpenAPI schema, public quote pages, the
# auth routes themselves, and /ws (its token comes in the hello frame)
PUBLIC_PATHS = [
    "^/healthz$",
    "^/readyz$",
    "^/metrics$",
    "^/schema",
    "^/ws$",
    "^/q/",
    "^/$",
    "^/static/",
    "^/kosync/",  # devices sign in with their own headers (handlers/kosync.py)
    "^/opds",  # reading apps sign in with HTTP Basic auth (handlers/opds.py)
    "^/api/v1/auth/",
    "^/api/v1/billing/stripe$",  # signed by Stripe (handlers/http_billing.py)
]


class AuthUser(msgspec.Struct, frozen=True):
    """Who is calling, as the access token says; no database read per request."""

    id: UUID


async def _user_from_token(token: Token, _: ASGIConnection[Any, Any, Any, Any]) -> AuthUser | None:
    try:
        return AuthUser(UUID(token.sub))
    except ValueError:
        return None


class Claims(msgspec.Struct, frozen=True):
    """An access token's content: who, until when (epoch seconds), from which login."""

    user_id: UUID
    expires_at: float
    family_id: UUID | None


class Tokens:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self.secret = secret
        self.ttl_s = ttl_s
        self.jwt_auth: JWTAuth[AuthUser, Token] = JWTAuth[AuthUser, Token](
            token_secret=secret,
            retrieve_user_handler=_user_from_token,
            exclude=PUBLIC_PATHS,
            algorithm=ALGORITHM,
            default_token_expiration=timedelta(seconds=ttl_s),
        )

    def issue(self, user_id: UUID, family_id: UUID | None = None) -> str:
        extras = {"fam": str(family_id)} if family_id is not None else {}
        return self.jwt_auth.create_token(
            str(user_id), token_unique_jwt_id=uuid4().hex, token_extras=extras
        )

    def verify(self, encoded: str) -> UUID:
        """The user id in a valid, unexpired token; Unauthorized otherwise."""
        return self.claims(encoded).user_id

    def claims(self, encoded: str) -> Claims:
        """What a valid, unexpired token says; Unauthorized otherwise."""
        try:
            token = Token.decode(encoded, self.secret, ALGORITHM)
            family = token.extras.get("fam")
            return Claims(UUID(token.sub), token.exp.timestamp(), UUID(family) if family else None)
        except (NotAuthorizedException, ValueError, TypeError):
            raise Unauthorized("invalid or expired token") from None
