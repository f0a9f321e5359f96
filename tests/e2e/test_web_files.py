"""The web reader's files as the server serves them (the browser tests in tests/browser/
use them; these need no browser): the page at `/` with its security headers, its modules
under `/static/`, nothing outside `web/`, and no sign-in needed to load them."""

from __future__ import annotations

import re

import httpx
import pytest

from handlers.web import WEB_DIR
from tests.services import ServerProcess

pytestmark = pytest.mark.e2e


async def test_the_page_and_every_module_it_imports_are_served(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = await http.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "'unsafe-inline'" not in csp
        assert page.headers["x-content-type-options"] == "nosniff"
        # every module is reachable by the path its importer names
        seen, queue = set(), ["/static/js/app.js"]
        while queue:
            path = queue.pop()
            if path in seen:
                continue
            seen.add(path)
            module = await http.get(path)
            assert module.status_code == 200, path
            assert module.headers["content-type"].startswith("text/javascript"), path
            queue += [
                f"/static/js/{name}" for name in re.findall(r'from "\./([\w.]+)"', module.text)
            ]
        on_disk = {f"/static/js/{p.name}" for p in (WEB_DIR / "js").glob("*.js")}
        assert seen == on_disk  # no module left unused, none missing
        assert (await http.get("/static/css/app.css")).status_code == 200


async def test_nothing_outside_the_web_folder_is_served(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for path in ("/static/../server/settings.py", "/static/%2e%2e/pyproject.toml",
                     "/static/js/missing.js", "/index.html"):  # fmt: skip
            answer = await http.get(path)
            assert answer.status_code == 404, (path, answer.status_code)
            assert "JWT_SECRET" not in answer.text
