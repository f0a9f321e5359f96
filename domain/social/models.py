"""Quote shares, templates, trending and collections as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import UNSET, Meta, Struct, UnsetType

from domain.limits import BoundedJson

Platform = Literal["default", "instagram", "twitter", "facebook", "linkedin", "pinterest", "story"]
EngagementKind = Literal["view", "like", "save", "share", "comment", "click"]


class QuoteShare(Struct, kw_only=True):
    id: UUID
    user_id: UUID
    # null once the book or the highlight is gone: the share keeps its own snapshot
    book_id: UUID | None
    highlight_id: UUID | None
    template_id: UUID
    quote_text: str
    author_attribution: str | None
    book_attribution: str | None
    customizations: dict[str, Any]
    card_image_url: str | None
    shareable_url: str | None
    share_message: str | None
    hashtags: list[Any]
    platforms_shared: list[Any]
    views_count: int
    likes_count: int
    shares_count: int
    comments_count: int
    saves_count: int
    click_throughs: int
    app_installs_attributed: int
    viral_coefficient: float | None
    referral_code: str
    engagement_rate: float | None
    created_at: datetime
    updated_at: datetime


class ShareCreate(BoundedJson, kw_only=True, forbid_unknown_fields=True):
    template_id: UUID
    share_message: Annotated[str, Meta(max_length=2000)] | None = None
    hashtags: Annotated[
        list[Annotated[str, Meta(min_length=1, max_length=60)]], Meta(max_length=30)
    ] = []
    platforms: Annotated[list[Platform], Meta(max_length=7)] = []
    # colors only: the template's layout stays (a card must stay legible)
    customizations: dict[Literal["text_color", "accent_color", "background"], Any] = {}


class EngagementCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    kind: EngagementKind


class Template(Struct, kw_only=True):
    id: UUID
    name: str
    category: str | None
    description: str | None
    design_config: dict[str, Any]
    platform_optimizations: dict[str, Any]
    is_premium: bool
    sort_order: int
    usage_count: int
    average_engagement_rate: float | None
    performance_by_platform: dict[str, Any]


class CollectionCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    title: Annotated[str, Meta(min_length=1, max_length=200)]
    description: Annotated[str, Meta(max_length=5000)] | None = None
    theme: Annotated[str, Meta(max_length=60)] | None = None
    public: bool = False


class CollectionPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    title: Annotated[str, Meta(min_length=1, max_length=200)] | UnsetType = UNSET
    description: Annotated[str, Meta(max_length=5000)] | UnsetType | None = UNSET
    theme: Annotated[str, Meta(max_length=60)] | UnsetType | None = UNSET
    public: bool | UnsetType = UNSET
    # the cover is the card of one of its quotes; null clears it
    cover_quote_share_id: UUID | UnsetType | None = UNSET


class CollectionItemPatch(Struct, kw_only=True, forbid_unknown_fields=True):
    # moved there, the items between shifted (past the end: the last place)
    position: Annotated[int, Meta(ge=1, le=100_000)] | UnsetType = UNSET
    curator_note: Annotated[str, Meta(max_length=2000)] | UnsetType | None = UNSET


class CollectionItemCreate(Struct, kw_only=True, forbid_unknown_fields=True):
    quote_share_id: UUID
    position: Annotated[int, Meta(ge=1, le=100_000)] | None = None
    curator_note: Annotated[str, Meta(max_length=2000)] | None = None


class CollectionItem(Struct, kw_only=True):
    quote_share_id: UUID
    position: int
    curator_note: str | None
    added_at: datetime
    quote: QuoteShare


class Collection(Struct, kw_only=True):
    id: UUID
    user_id: UUID | None
    title: str
    description: str | None
    collection_type: str | None
    theme: str | None
    public: bool
    cover_image_url: str | None
    followers_count: int
    quotes_count: int
    created_at: datetime
    updated_at: datetime
    items: list[CollectionItem] = []
