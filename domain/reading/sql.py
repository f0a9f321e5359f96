"""The reading area's named queries, with the column lists of its Structs."""

from domain.reading.models import Annotation, Bookmark, Highlight, ReadingSession
from domain.sql import load_queries

HIGHLIGHT_COLUMNS = ", ".join(Highlight.__struct_fields__)
BOOKMARK_COLUMNS = ", ".join(Bookmark.__struct_fields__)
ANNOTATION_COLUMNS = ", ".join(Annotation.__struct_fields__)

SESSION_COLUMNS = ", ".join(ReadingSession.__struct_fields__)
Q = load_queries(
    __file__,
    highlight_columns=HIGHLIGHT_COLUMNS,
    bookmark_columns=BOOKMARK_COLUMNS,
    annotation_columns=ANNOTATION_COLUMNS,
    session_columns=SESSION_COLUMNS,
)
