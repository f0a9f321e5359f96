"""Parse a book in a child process that can be stopped.

A hostile file can make a parser spin or allocate without end, and a thread cannot be
killed: the child gets a memory ceiling and a deadline, and when either is hit it is the
child that dies, with a reason for the reader, while the worker goes on.

Run as `python -m workers.parse_process <kind>`: the file's bytes on stdin, a msgpack
`Outcome` on stdout (anything a parser library prints goes to stderr instead)."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import sys

import msgspec

from domain.books.parsed import ParsedBook, ParseError

log = logging.getLogger(__name__)
MEMORY_LIMIT_BYTES = 3 * 1024**3


class ParseTimeout(Exception):
    pass


class Outcome(msgspec.Struct):
    book: ParsedBook | None = None
    error: str | None = None


async def parse_in_child(data: bytes, kind: str, timeout_s: float) -> ParsedBook:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "workers.parse_process", kind,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(proc.communicate(data), timeout_s)
    except (TimeoutError, asyncio.CancelledError):
        proc.kill()
        await proc.wait()
        raise ParseTimeout from None
    if proc.returncode != 0 or not out:
        log.warning(
            "parser child exited %s: %s", proc.returncode, err[-2000:].decode(errors="replace")
        )
        if b"MemoryError" in err:
            raise ParseError("the file needs more memory to read than a book may use")
        raise ParseError(f"the file could not be read (the parser stopped, code {proc.returncode})")
    outcome = msgspec.msgpack.decode(out, type=Outcome)
    if outcome.book is None:
        raise ParseError(outcome.error or "the file could not be read")
    return outcome.book


def _main(kind: str) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    from domain.books.parse import parse_book  # after the limit: imports allocate too

    result = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's prints must not corrupt the result
    data = sys.stdin.buffer.read()
    try:
        outcome = Outcome(book=parse_book(data, kind))
    except ParseError as exc:
        outcome = Outcome(error=str(exc))
    except MemoryError:
        outcome = Outcome(error="the file needs more memory to read than a book may use")
    except Exception as exc:  # a parser library tripping over a damaged file
        outcome = Outcome(error=f"the file is damaged and could not be read ({type(exc).__name__})")
    with result:
        result.write(msgspec.msgpack.encode(outcome))


if __name__ == "__main__":
    _main(sys.argv[1])
