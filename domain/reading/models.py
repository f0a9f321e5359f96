"""Reading and annotation entities and the commands that change them.

Commands decode with msgspec; the constraints here are the validation, and msgspec names
the failing field. Absent fields in a patch are UNSET (kept); null clears."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from msgspec import UNSET, Meta, Struct, UnsetType

from domain.limits import BoundedJson

Color = Literal["yellow", "blue", "green", "red", "purple", "orange", "brown", "pink"]
Category = Literal[
    "important_concept", "question", "agreement", "disagreement",
    "quote", "action_item", "example", "reflection",
]  # fmt: skip
BookmarkCategory = Literal["manual", "favorite", "review", "notes"]
AnnotationType = Literal["text", "voice", "drawing", "ai_insight"]
Page = Annotated[int, Meta(ge=1, le=1_000_000)]
Offset = Annotated[int, Meta(ge=0, le=2_000_000_000)]
MAX_SELECTED_CHARS = 2000  # a highlight's longest words (imports and re-anchoring keep to it)
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]
Device = Annotated[str, Meta(min_length=1, max_length=64)]
Tag = Annotated[str, Meta(min_length=1, max_length=50)]
Tags = Annotated[list[Tag], Meta(max_length=50)]
Note = Annotated[str, Meta(max_length=10_000)]
Json = dict[str, Any]


# -- progress -------------------------------------------------------------------------


class ProgressUpdate(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    current_page: Page
    progress_percentage: Fraction
    current_character_offset: Offset | None = None
    position_data: Json = {}
    # optional over the WebSocket, where the connection's device is the default
    device: Device | None = None


class Progress(Struct, kw_only=True):
    book_id: UUID
    current_page: int | None
    current_character_offset: int | None
    progress_percentage: float | None
    position_data: Json
    device: str | None
    updated_at: datetime


class ProgressView(Struct, kw_only=True):
    latest: Progress | None
    furthest: Progress | None
    devices: list[Progress]


# -- sessions -------------------------------------------------------------------------


class SessionStart(Struct, forbid_unknown_fields=True, kw_only=True):
    id: UUID | None = None
    device_type: Annotated[str, Meta(max_length=32)] | None = None
    platform: Annotated[str, Meta(max_length=32)] | None = None
    start_page: Page | None = None


class SessionEnd(Struct, forbid_unknown_fields=True, kw_only=True):
    end_page: Page
    words_read: Annotated[int, Meta(ge=0, le=10_000_000)] = 0


class ReadingSession(Struct, kw_only=True):
    id: UUID
    book_id: UUID
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: int | None
    start_page: int | None
    end_page: int | None
    pages_read: int | None
    words_read: int | None
    reading_speed_wpm: float | None
    device_type: str | None
    platform: str | None


class ReadingState(Struct, kw_only=True):
    """The caller's reading of one book (zeros and nulls before they open it)."""

    book_id: UUID
    first_opened_at: datetime | None
    last_read_at: datetime | None
    progress_percentage: float | None
    completed: bool
    completed_at: datetime | None
    total_time_spent_seconds: int
    total_sessions: int
    completion_time_seconds: int | None
    estimated_finish_date: datetime | None


# -- highlights -----------------------------------------------------------------------


class HighlightCreate(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    id: UUID | None = None
    selected_text: Annotated[str, Meta(min_length=1, max_length=MAX_SELECTED_CHARS)]
    page_number: Page
    start_offset: Offset
    end_offset: Offset
    color: Color = "yellow"
    category: Category | None = None
    note: Note | None = None
    tags: Tags = []
    public: bool = False
    position_data: Json = {}


class HighlightPatch(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    color: Color | UnsetType = UNSET
    category: Category | UnsetType | None = UNSET
    note: Note | UnsetType | None = UNSET
    tags: Tags | UnsetType = UNSET
    public: bool | UnsetType = UNSET
    position_data: Json | UnsetType = UNSET


class Highlight(Struct, kw_only=True):
    id: UUID
    user_id: UUID
    book_id: UUID
    book_chapter_id: UUID | None
    selected_text: str
    word_count: int | None
    character_count: int | None
    page_number: int | None
    start_offset: int | None
    end_offset: int | None
    position_data: Json
    color: str
    color_hex: str
    category: str | None
    note: str | None
    tags: list[str]
    public: bool
    ai_explanation: str | None
    # 0-1, from the schedule's analysis (None until then): centrality in the book, its
    # key concepts, and how many readers highlighted the same words in public
    ai_importance_score: float | None
    ai_analysis: Json
    shares_count: int
    device_type: str | None  # the device that made it (X-Device, or the socket's hello)
    created_at: datetime
    updated_at: datetime
    # its words are not in the book's text any more (another edition): kept, not placed
    orphaned: bool = False


# -- bookmarks ------------------------------------------------------------------------


class BookmarkCreate(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    id: UUID | None = None
    title: Annotated[str, Meta(max_length=200)] | None = None
    note: Note | None = None
    category: BookmarkCategory = "manual"
    page_number: Page
    position_data: Json = {}
    context_text: Annotated[str, Meta(max_length=1000)] | None = None
    icon: Annotated[str, Meta(max_length=32)] | None = None


class BookmarkPatch(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    title: Annotated[str, Meta(max_length=200)] | UnsetType | None = UNSET
    note: Note | UnsetType | None = UNSET
    category: BookmarkCategory | UnsetType = UNSET
    page_number: Page | UnsetType = UNSET
    position_data: Json | UnsetType = UNSET
    context_text: Annotated[str, Meta(max_length=1000)] | UnsetType | None = UNSET
    icon: Annotated[str, Meta(max_length=32)] | UnsetType | None = UNSET


class AutoBookmark(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    page_number: Page
    position_data: Json = {}
    context_text: Annotated[str, Meta(max_length=1000)] | None = None


class Bookmark(Struct, kw_only=True):
    id: UUID
    book_id: UUID
    book_chapter_id: UUID | None
    title: str | None
    note: str | None
    category: str
    page_number: int
    position_data: Json
    context_text: str | None
    is_auto_bookmark: bool
    last_visited_at: datetime | None
    icon: str | None
    reading_progress_when_created: float | None
    created_at: datetime
    updated_at: datetime
    orphaned: bool = False  # its place's words are gone from the book's text


# -- annotations ----------------------------------------------------------------------


class Stroke(Struct, forbid_unknown_fields=True, kw_only=True):
    """One pen stroke: its points in the drawing's own coordinates."""

    points: Annotated[list[tuple[float, float]], Meta(min_length=1, max_length=2000)]
    color: Annotated[str, Meta(pattern=r"^#[0-9A-Fa-f]{6}$")] = "#000000"
    width: Annotated[float, Meta(gt=0, le=100)] = 2.0


MAX_DRAWING_POINTS = 10_000


class Drawing(Struct, forbid_unknown_fields=True, kw_only=True):
    """A drawing annotation's strokes on a canvas of `width` x `height`."""

    width: Annotated[int, Meta(ge=1, le=10_000)]
    height: Annotated[int, Meta(ge=1, le=10_000)]
    strokes: Annotated[list[Stroke], Meta(max_length=500)]

    def __post_init__(self) -> None:
        if sum(len(s.points) for s in self.strokes) > MAX_DRAWING_POINTS:
            raise ValueError(f"a drawing has at most {MAX_DRAWING_POINTS} points in all")


class AnnotationCreate(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    id: UUID | None = None
    annotation_type: AnnotationType
    # required for text and ai_insight; a voice note's or drawing's caption
    content: Annotated[str, Meta(min_length=1, max_length=50_000)] | None = None
    page_number: Page
    highlight_id: UUID | None = None
    bookmark_id: UUID | None = None
    tags: Tags = []
    public: bool = False
    position_data: Json = {}
    attached_text: Annotated[str, Meta(max_length=2000)] | None = None
    audio_transcript: Annotated[str, Meta(max_length=50_000)] | None = None
    drawing_data: Drawing | None = None  # a drawing's strokes (drawing annotations only)


class AnnotationPatch(BoundedJson, forbid_unknown_fields=True, kw_only=True):
    content: Annotated[str, Meta(min_length=1, max_length=50_000)] | UnsetType = UNSET
    page_number: Page | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET
    public: bool | UnsetType = UNSET
    position_data: Json | UnsetType = UNSET
    audio_transcript: Annotated[str, Meta(max_length=50000)] | UnsetType | None = UNSET
    drawing_data: Drawing | UnsetType | None = UNSET


class Annotation(Struct, kw_only=True):
    id: UUID
    user_id: UUID
    book_id: UUID
    highlight_id: UUID | None
    bookmark_id: UUID | None
    annotation_type: str
    content: str | None
    plain_text_content: str | None
    page_number: int | None
    position_data: Json
    attached_text: str | None
    # a voice note's recording (PUT /annotations/{id}/audio), its length read from it
    audio_file_url: str | None
    audio_duration_seconds: int | None
    audio_transcript: str | None
    drawing_data: Json | None
    image_url: str | None  # a picture attached to it (PUT /annotations/{id}/image)
    tags: list[str]
    word_count: int
    public: bool
    created_at: datetime
    updated_at: datetime
    orphaned: bool = False  # its place's words are gone from the book's text


class Deleted(Struct):
    """What a `.deleted` event carries."""

    id: UUID


class BookStats(Struct, kw_only=True):
    """`book.stats`: the book's community counters after a change."""

    book_id: UUID
    community_highlights_count: int
    total_highlights: int
