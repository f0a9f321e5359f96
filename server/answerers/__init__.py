"""Answerers behind `domain.ports.Answerer`: the Anthropic Messages API when a key is set,
else the offline answerer."""

from __future__ import annotations

from domain.ports import Answerer, Embedder
from server.settings import Settings


def make_answerer(settings: Settings, embedder: Embedder) -> Answerer:
    if settings.anthropic_api_key:
        from server.answerers.anthropic import AnthropicAnswerer

        return AnthropicAnswerer(settings)
    from server.answerers.offline import OfflineAnswerer

    return OfflineAnswerer(embedder)
