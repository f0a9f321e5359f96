-- Who engaged with a share, so one account (or one anonymous visitor) counts once: a
-- like or save once ever (undone by deleting it), any other kind once a day. Without it
-- one account could stuff a share's counts, and with them trending.
CREATE TABLE quote_engagement_marks (
    quote_share_id uuid NOT NULL REFERENCES quote_shares (id) ON DELETE CASCADE,
    -- 'u:<user id>' for a signed-in reader, 'a:<sha256 of the address>' for a visitor
    visitor text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('view', 'like', 'save', 'share', 'comment', 'click')),
    -- the UTC day it counted for; likes and saves use one fixed day (once ever)
    day date NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (quote_share_id, visitor, kind, day)
);
CREATE INDEX index_quote_engagement_marks_on_created_at ON quote_engagement_marks (created_at);
