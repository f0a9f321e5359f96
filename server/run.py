"""`make run`: bring up everything needed to serve, on embedded defaults when no
environment is set.

- No DATABASE_URL: start (or join) the embedded PostgreSQL under ./.bookmind/pg.
- Apply migrations (under the advisory lock, so two starters are safe).
- No REDIS_URL: one process (web + in-process task broker + scheduler loop).
- REDIS_URL: the Procfile's web, worker and scheduler under honcho, stopped together
  on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

import uvicorn

from server.logs import configure_logging
from server.migrate import migrate
from server.settings import Settings

log = logging.getLogger("bookmind.run")
ROOT = Path(__file__).resolve().parent.parent


def _serve_one_process(settings: Settings) -> None:
    from server.app import create_app
    from server.web import uvicorn_options

    uvicorn.run(create_app(settings), **uvicorn_options(settings))


def _serve_procfile(settings: Settings, env: dict[str, str]) -> int:
    bin_dir = str(Path(sys.executable).parent)
    env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}", "HOST": settings.host}
    cmd = [
        sys.executable, "-m", "honcho", "start",
        "-f", str(ROOT / "Procfile"), "-d", str(ROOT),
        "-p", str(settings.port),  # honcho hands PORT to web from this base
        "web", "worker", "scheduler",
    ]  # fmt: skip
    child = subprocess.Popen(cmd, env=env)  # noqa: S603 - fixed argv

    def forward(signum: int, _: FrameType | None) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    return child.wait()


def main() -> int:
    # SIGTERM leaves through `finally`, as Ctrl-C does, so the embedded PostgreSQL is
    # stopped: uvicorn re-raises the signal it caught once it has shut down, and by
    # default it would end the process on the spot and leave PostgreSQL running
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    settings = Settings.from_env()
    configure_logging(settings)
    env = dict(os.environ)
    handle = None
    url = settings.database_url
    if url is None:
        from server.embedded import embedded_database_url

        url, handle = embedded_database_url(settings.data_dir)
        env["DATABASE_URL"] = url
        settings = dataclasses.replace(settings, database_url=url)
    try:
        applied = asyncio.run(migrate(url))
        log.info("migrations up to date", extra={"applied_now": applied})
        if settings.uses_redis:
            return _serve_procfile(settings, env)
        _serve_one_process(settings)
        return 0
    finally:
        if handle is not None:
            handle.cleanup()


if __name__ == "__main__":
    sys.exit(main())
