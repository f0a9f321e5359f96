"""schemathesis over the OpenAPI document of a running server (issue 13 §6), shared by
the standing test (`tests/e2e/test_fuzz_openapi.py`) and the longer run
(`tests/bench/fuzz_openapi.py`)."""

from __future__ import annotations

import asyncio
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import asyncpg

# the tables a request can add rows to on a reader's behalf
DATA_TABLES = [
    "users", "books", "highlights", "bookmarks", "annotations", "reading_progress",
    "reading_sessions", "ai_conversations", "follows", "quote_shares", "quote_collections",
    "quote_collection_items", "quote_engagement_marks",
]  # fmt: skip
CLI = str(Path(sys.executable).with_name("schemathesis"))
# Left out of the negative run:
# - a multipart form carries every field as text: "{}" is a valid author there, which
#   the negative mode takes for an object the server should have refused;
# - a DELETE whose one input is the id in its path has nothing to negate: schemathesis
#   then sends ids it saw in earlier answers, valid ones, and the row really goes (the
#   "rejected input changes nothing" check would count a correct delete as a change)
NOT_NEGATIVE = [
    "--exclude-name", "POST /api/v1/books",
    "--exclude-name", "DELETE /api/v1/collections/{collection_id}",
    "--exclude-name", "DELETE /api/v1/quotes/{share_id}",
]  # fmt: skip


@dataclass
class Run:
    returncode: int
    output: str
    failures: str  # each failing operation with what was wrong and the answer's status

    @property
    def ok(self) -> bool:
        """No failure but refusals with 413: input too large for the route's body limit
        (docs/protocol.md "Limits") is refused, though schemathesis's list of refusal
        statuses lacks 413 (its configuration file cannot extend it while --checks is
        given on the command line)."""
        return self.returncode == 0 or all(
            set(re.findall(r"- (ST\d+)", block)) == {"ST201"}
            and set(re.findall(r"\[(\d{3})\]", block)) == {"413"}
            for block in re.split(r"(?m)^_{3,} ", self.failures)
            if block.strip()
        )


async def fuzz(
    base_url: str,
    token: str,
    *,
    mode: str,
    examples: int,
    seed: int = 13,
    max_time_s: int = 240,
    tail: int | None = 6000,
    phases: str = "examples,fuzzing",
) -> Run:
    """One schemathesis run: valid input must not give a 500 (positive), and input the
    schema rules out must be refused (negative). See `Run.ok`."""
    positive = mode == "positive"
    checks = "not_a_server_error" if positive else "not_a_server_error,negative_data_rejection"
    proc = await asyncio.create_subprocess_exec(
        CLI, "run", f"{base_url}/schema/openapi.json", "--url", base_url, "--checks", checks,
        *([] if positive else NOT_NEGATIVE), "--mode", mode, "--max-examples", str(examples),
        "--seed", str(seed), "--phases", phases, "--workers", "1",
        "--generation-database", "none", "--max-time", str(max_time_s), "--no-shrink",
        "--header", f"Authorization: Bearer {token}", "--request-timeout", "30",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    text = out.decode(errors="replace")
    return Run(proc.returncode or 0, text[-tail:] if tail else text, _failures(text))


_FAILURE_LINE = re.compile(r"^(_{3,} .+ _{3,}|- ST\d+ .*|\s+- (body|header|query|path).*|"
                           r"\s+Invalid component.*|\[\d{3}\] .*)$")  # fmt: skip


def _failures(text: str) -> str:
    return "\n".join(line[:300] for line in text.splitlines() if _FAILURE_LINE.match(line))


async def data_counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in DATA_TABLES}
    finally:
        await conn.close()
