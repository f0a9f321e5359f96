"""The web process (Procfile `web:`): uvicorn with every option in one place.

permessage-deflate is off unless WS_PER_MESSAGE_DEFLATE is set: it grows memory per
socket and fan-out latency (docs/benchmarks.md). Frames over 64 KiB close the socket
with 1009. The server pings every heartbeat; a socket silent for three heartbeats (the
ping and two more for its pong) is closed.
"""

from __future__ import annotations

from typing import Any

import uvicorn

from server.settings import Settings

MAX_FRAME_BYTES = 64 * 1024


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    return {
        "host": settings.host,
        "port": settings.port,
        # the app's __call__ returns a coroutine rather than being one (server/app.py):
        # said here, since uvicorn would take a plain callable for ASGI 2
        "interface": "asgi3",
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        "ws_max_size": MAX_FRAME_BYTES,
        "ws_ping_interval": settings.ws_heartbeat_s,
        "ws_ping_timeout": 2 * settings.ws_heartbeat_s,
        "access_log": False,
        "log_config": None,
        "proxy_headers": True,
        "timeout_graceful_shutdown": 10,
    }


def main() -> None:
    settings = Settings.from_env()
    uvicorn.run("server.app:create_app", factory=True, **uvicorn_options(settings))


if __name__ == "__main__":
    main()
