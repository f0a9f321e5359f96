"""The embedding model in its child process: the vectors are the model's, a query is
served between the batches of a book being indexed, and a child that dies is replaced."""

from __future__ import annotations

import math
import threading
import time

from server.embeddings import ChildMiniLM


def _cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def test_vectors_queries_between_batches_and_a_child_that_dies() -> None:
    model = ChildMiniLM()
    whale, ship, tea = model.embed(
        ["The white whale rose from the sea.", "A whaling ship sailed from Nantucket.",
         "Tea was served in the garden at four."]
    )  # fmt: skip
    assert len(whale) == ChildMiniLM.dimensions
    assert abs(math.sqrt(sum(x * x for x in whale)) - 1) < 1e-4  # normalized
    assert _cosine(whale, ship) > _cosine(whale, tea)  # meaning, not noise

    book = [f"Chapter {i}: the sea, the ship, the long voyage and its men." * 6
            for i in range(64 * 5)]  # fmt: skip
    done: list[float] = []

    def index_the_book() -> None:
        model.embed(book)
        done.append(time.time())

    indexing = threading.Thread(target=index_the_book)
    indexing.start()
    time.sleep(0.3)  # the book's batches are under way
    query = model.embed_query("whale")
    answered = time.time()
    indexing.join()
    assert len(query) == ChildMiniLM.dimensions
    assert answered < done[0], "the query waited for the whole book"

    assert model._proc is not None
    model._proc.kill()
    model._proc.join()
    assert (
        model.embed_query("The white whale rose from the sea.")
        == model.embed(["The white whale rose from the sea."])[0]
    )  # a new child, the same model
