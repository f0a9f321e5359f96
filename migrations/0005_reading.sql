-- Seed tables 5-9: reading sessions (partitioned by month), reading progress,
-- highlights, bookmarks and annotations.
CREATE TABLE reading_sessions (
    id uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    duration_seconds integer,
    start_page integer,
    end_page integer,
    pages_read integer,
    words_read integer,
    reading_speed_wpm double precision,
    device_type text,
    platform text,
    session_metadata jsonb NOT NULL DEFAULT '{}',
    highlights_created integer NOT NULL DEFAULT 0,
    bookmarks_created integer NOT NULL DEFAULT 0,
    ai_queries_used integer NOT NULL DEFAULT 0,
    notes_created integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- a partitioned table's key must hold the partition column
    PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);
CREATE TABLE reading_sessions_default PARTITION OF reading_sessions DEFAULT;
CREATE INDEX index_reading_sessions_on_user_id ON reading_sessions (user_id);
CREATE INDEX index_reading_sessions_on_book_id ON reading_sessions (book_id);
CREATE INDEX index_reading_sessions_on_user_id_and_book_id ON reading_sessions (user_id, book_id);
CREATE INDEX index_reading_sessions_on_started_at ON reading_sessions (started_at);
CREATE INDEX index_reading_sessions_on_duration_seconds ON reading_sessions (duration_seconds);
CREATE INDEX index_reading_sessions_on_user_id_and_started_at
    ON reading_sessions (user_id, started_at);
CREATE INDEX index_reading_sessions_on_book_id_and_started_at
    ON reading_sessions (book_id, started_at);
CREATE INDEX index_reading_sessions_on_id ON reading_sessions (id);
CREATE TRIGGER reading_sessions_updated_at BEFORE UPDATE ON reading_sessions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
SELECT ensure_partitions_ahead('reading_sessions', 3);

CREATE TABLE reading_progress (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    -- the latest position (last write wins, in server order)
    current_page integer,
    progress_percentage double precision CHECK (progress_percentage BETWEEN 0 AND 1),
    current_character_offset integer,
    position_data jsonb NOT NULL DEFAULT '{}',
    total_time_spent_seconds integer NOT NULL DEFAULT 0,
    total_sessions integer NOT NULL DEFAULT 0,
    first_opened_at timestamptz,
    last_read_at timestamptz,
    estimated_finish_date timestamptz,
    completed boolean NOT NULL DEFAULT false,
    completed_at timestamptz,
    completion_time_seconds integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX index_reading_progress_on_user_id_and_book_id
    ON reading_progress (user_id, book_id);
CREATE INDEX index_reading_progress_on_book_id ON reading_progress (book_id);
CREATE INDEX index_reading_progress_on_progress_percentage ON reading_progress (progress_percentage);
CREATE INDEX index_reading_progress_on_last_read_at ON reading_progress (last_read_at);
CREATE INDEX index_reading_progress_on_completed ON reading_progress (completed);
CREATE INDEX index_reading_progress_on_user_id_and_last_read_at
    ON reading_progress (user_id, last_read_at);
CREATE INDEX index_reading_progress_on_progress_percentage_and_last_read_at
    ON reading_progress (progress_percentage, last_read_at);
CREATE TRIGGER reading_progress_updated_at BEFORE UPDATE ON reading_progress
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE highlights (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    book_chapter_id uuid REFERENCES book_chapters (id) ON DELETE SET NULL,
    selected_text text NOT NULL CHECK (char_length(selected_text) BETWEEN 1 AND 2000),
    word_count integer,
    character_count integer,
    page_number integer CHECK (page_number > 0),
    start_offset integer,
    end_offset integer,
    position_data jsonb NOT NULL DEFAULT '{}',
    color text NOT NULL DEFAULT 'yellow'
        CHECK (color IN ('yellow', 'blue', 'green', 'red', 'purple', 'orange', 'brown', 'pink')),
    color_hex text NOT NULL DEFAULT '#FEF3C7',
    category text CHECK (category IN ('important_concept', 'question', 'agreement',
        'disagreement', 'quote', 'action_item', 'example', 'reflection')),
    note text,
    tags jsonb NOT NULL DEFAULT '[]',
    ai_explanation text,
    ai_importance_score double precision,
    ai_analysis jsonb NOT NULL DEFAULT '{}',
    shares_count integer NOT NULL DEFAULT 0,
    public boolean NOT NULL DEFAULT false,
    featured boolean NOT NULL DEFAULT false,
    device_type text,
    selection_metadata jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- added: deletions are tombstones until every device has heard of them
    deleted_at timestamptz
);
CREATE INDEX index_highlights_on_user_id ON highlights (user_id);
CREATE INDEX index_highlights_on_book_id ON highlights (book_id);
CREATE INDEX index_highlights_on_book_chapter_id ON highlights (book_chapter_id);
CREATE INDEX index_highlights_on_user_id_and_book_id ON highlights (user_id, book_id);
CREATE INDEX index_highlights_on_color ON highlights (color);
CREATE INDEX index_highlights_on_category ON highlights (category);
CREATE INDEX index_highlights_on_page_number ON highlights (page_number);
CREATE INDEX index_highlights_on_ai_importance_score ON highlights (ai_importance_score);
CREATE INDEX index_highlights_on_shares_count ON highlights (shares_count);
CREATE INDEX index_highlights_on_public ON highlights (public);
CREATE INDEX index_highlights_on_tags ON highlights USING gin (tags);
CREATE INDEX index_highlights_on_created_at ON highlights (created_at);
CREATE INDEX index_highlights_on_user_id_and_created_at ON highlights (user_id, created_at);
CREATE INDEX index_highlights_on_book_id_and_page_number_and_created_at
    ON highlights (book_id, page_number, created_at);
CREATE INDEX index_highlights_on_public_and_ai_importance_score_and_created_at
    ON highlights (public, ai_importance_score, created_at);
CREATE INDEX index_highlights_on_selected_text ON highlights
    USING gin (to_tsvector('english', selected_text));
CREATE INDEX index_highlights_on_deleted_at ON highlights (deleted_at)
    WHERE deleted_at IS NOT NULL;
CREATE TRIGGER highlights_updated_at BEFORE UPDATE ON highlights
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE bookmarks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    book_chapter_id uuid REFERENCES book_chapters (id) ON DELETE SET NULL,
    title text CHECK (char_length(title) <= 200),
    note text,
    category text NOT NULL DEFAULT 'manual'
        CHECK (category IN ('manual', 'auto', 'favorite', 'review', 'notes')),
    page_number integer NOT NULL CHECK (page_number > 0),
    position_data jsonb NOT NULL DEFAULT '{}',
    context_text text,
    is_auto_bookmark boolean NOT NULL DEFAULT false,
    last_visited_at timestamptz,
    thumbnail_url text,
    icon text,
    reading_duration_seconds integer,
    reading_progress_when_created double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX index_bookmarks_on_user_id ON bookmarks (user_id);
CREATE INDEX index_bookmarks_on_book_id ON bookmarks (book_id);
CREATE INDEX index_bookmarks_on_book_chapter_id ON bookmarks (book_chapter_id);
CREATE INDEX index_bookmarks_on_user_id_and_book_id ON bookmarks (user_id, book_id);
CREATE INDEX index_bookmarks_on_category ON bookmarks (category);
CREATE INDEX index_bookmarks_on_page_number ON bookmarks (page_number);
CREATE INDEX index_bookmarks_on_is_auto_bookmark ON bookmarks (is_auto_bookmark);
CREATE INDEX index_bookmarks_on_last_visited_at ON bookmarks (last_visited_at);
CREATE INDEX index_bookmarks_on_created_at ON bookmarks (created_at);
CREATE INDEX index_bookmarks_on_user_id_and_last_visited_at
    ON bookmarks (user_id, last_visited_at);
CREATE UNIQUE INDEX index_bookmarks_unique_auto_per_user_book
    ON bookmarks (user_id, book_id, is_auto_bookmark) WHERE is_auto_bookmark = true;
CREATE TRIGGER bookmarks_updated_at BEFORE UPDATE ON bookmarks
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE annotations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    highlight_id uuid REFERENCES highlights (id) ON DELETE SET NULL,
    bookmark_id uuid REFERENCES bookmarks (id) ON DELETE SET NULL,
    annotation_type text NOT NULL
        CHECK (annotation_type IN ('text', 'voice', 'drawing', 'ai_insight')),
    content text,
    plain_text_content text,
    page_number integer CHECK (page_number > 0),
    position_data jsonb NOT NULL DEFAULT '{}',
    attached_text text,
    audio_file_url text,
    audio_duration_seconds integer,
    audio_transcript text,
    drawing_data text,
    image_url text,
    tags jsonb NOT NULL DEFAULT '[]',
    template_type text,
    word_count integer NOT NULL DEFAULT 0,
    ai_summary text,
    ai_suggestions jsonb NOT NULL DEFAULT '{}',
    relevance_score double precision,
    public boolean NOT NULL DEFAULT false,
    featured boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz
);
CREATE INDEX index_annotations_on_user_id ON annotations (user_id);
CREATE INDEX index_annotations_on_book_id ON annotations (book_id);
CREATE INDEX index_annotations_on_highlight_id ON annotations (highlight_id);
CREATE INDEX index_annotations_on_bookmark_id ON annotations (bookmark_id);
CREATE INDEX index_annotations_on_annotation_type ON annotations (annotation_type);
CREATE INDEX index_annotations_on_page_number ON annotations (page_number);
CREATE INDEX index_annotations_on_tags ON annotations USING gin (tags);
CREATE INDEX index_annotations_on_public ON annotations (public);
CREATE INDEX index_annotations_on_created_at ON annotations (created_at);
-- the seed's trigram index, as core full-text search over the plain text
CREATE INDEX index_annotations_on_plain_text_content ON annotations
    USING gin (to_tsvector('english', coalesce(plain_text_content, '')));
CREATE TRIGGER annotations_updated_at BEFORE UPDATE ON annotations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
