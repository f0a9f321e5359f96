-- Seed table 10: AI conversations, partitioned by month of creation.
CREATE TABLE ai_conversations (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    book_chapter_id uuid REFERENCES book_chapters (id) ON DELETE SET NULL,
    question text NOT NULL CHECK (char_length(question) BETWEEN 3 AND 1000),
    -- empty when a stream failed or was cancelled before any text (the seed's
    -- presence rule cannot hold for those, and they must be stored too)
    answer text NOT NULL DEFAULT '',
    context_used jsonb NOT NULL DEFAULT '{}',
    attached_text text,
    ai_provider text,
    model_used text,
    confidence_score double precision,
    response_time_ms integer,
    tokens_used integer,
    -- six decimals: one short answer from a small model costs well under $0.0001
    cost_usd numeric(12, 6),
    sources_referenced jsonb NOT NULL DEFAULT '[]',
    conversation_history jsonb NOT NULL DEFAULT '[]',
    search_query_used text,
    user_rating integer CHECK (user_rating BETWEEN 1 AND 5),
    user_feedback text,
    marked_helpful boolean NOT NULL DEFAULT false,
    feature_used text CHECK (feature_used IN ('chat', 'explain', 'summarize', 'define')),
    trigger_type text CHECK (trigger_type IN ('manual', 'auto_suggestion')),
    session_metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- added: how the stream ended
    status text NOT NULL DEFAULT 'completed'
        CHECK (status IN ('completed', 'cancelled', 'failed')),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
CREATE TABLE ai_conversations_default PARTITION OF ai_conversations DEFAULT;
CREATE INDEX index_ai_conversations_on_user_id ON ai_conversations (user_id);
CREATE INDEX index_ai_conversations_on_book_id ON ai_conversations (book_id);
CREATE INDEX index_ai_conversations_on_user_id_and_book_id ON ai_conversations (user_id, book_id);
CREATE INDEX index_ai_conversations_on_ai_provider ON ai_conversations (ai_provider);
CREATE INDEX index_ai_conversations_on_confidence_score ON ai_conversations (confidence_score);
CREATE INDEX index_ai_conversations_on_user_rating ON ai_conversations (user_rating);
CREATE INDEX index_ai_conversations_on_feature_used ON ai_conversations (feature_used);
CREATE INDEX index_ai_conversations_on_created_at ON ai_conversations (created_at);
CREATE INDEX index_ai_conversations_on_user_id_and_created_at
    ON ai_conversations (user_id, created_at);
CREATE INDEX index_ai_conversations_on_book_id_and_created_at
    ON ai_conversations (book_id, created_at);
CREATE INDEX index_ai_conversations_on_feature_used_and_created_at
    ON ai_conversations (feature_used, created_at);
CREATE INDEX index_ai_conversations_on_question ON ai_conversations
    USING gin (to_tsvector('english', question));
CREATE INDEX index_ai_conversations_on_id ON ai_conversations (id);
CREATE TRIGGER ai_conversations_updated_at BEFORE UPDATE ON ai_conversations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
SELECT ensure_partitions_ahead('ai_conversations', 3);
