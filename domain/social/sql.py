"""The social area's named queries, with the column lists of its Structs."""

from domain.accounts.models import PUBLIC_USER_COLUMNS, PublicUser
from domain.reading.models import Highlight
from domain.social.models import Collection, QuoteShare, Template
from domain.sql import load_queries

Q = load_queries(
    __file__,
    public_user_columns=PUBLIC_USER_COLUMNS,
    public_user_columns_u=", ".join(f"u.{c}" for c in PublicUser.__struct_fields__),
    highlight_columns_h=", ".join(f"h.{c}" for c in Highlight.__struct_fields__),
    share_columns=", ".join(QuoteShare.__struct_fields__),
    share_columns_q=", ".join(f"q.{c}" for c in QuoteShare.__struct_fields__),
    template_columns=", ".join(Template.__struct_fields__),
    collection_columns=", ".join(f for f in Collection.__struct_fields__ if f != "items"),
)
