-- Daily AI quota (PROTOCOL.md §5): one counter per user and UTC day, taken with a single
-- upsert whose WHERE refuses the ask past the tier's limit, so two parallel asks cannot
-- both take the last one.
CREATE TABLE ai_daily_usage (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    day date NOT NULL,
    asks integer NOT NULL CHECK (asks >= 0),
    PRIMARY KEY (user_id, day)
);

-- the finished conversations of a book for one reader, newest first
CREATE INDEX index_ai_conversations_on_user_book_created
    ON ai_conversations (user_id, book_id, created_at DESC);
