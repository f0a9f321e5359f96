-- Seed tables 3-4 and 11: books, their chapters and their embedded passages.
CREATE TABLE books (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- metadata
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 500),
    author text,
    isbn_10 text,
    isbn_13 text,
    description text,
    language text NOT NULL DEFAULT 'en',
    genre text,
    page_count integer CHECK (page_count > 0),
    word_count integer,
    published_date date,
    publisher text,
    -- file
    file_type text CHECK (file_type IN ('pdf', 'epub', 'mobi', 'docx')),
    file_size bigint,
    file_path text,
    cover_image_url text,
    original_filename text,
    -- processing
    processing_status text NOT NULL DEFAULT 'pending'
        CHECK (processing_status IN ('pending', 'processing', 'completed', 'failed')),
    processing_error text,
    processing_completed_at timestamptz,
    -- analysis
    difficulty_level integer CHECK (difficulty_level BETWEEN 1 AND 10),
    ai_summary text,
    reading_time_minutes integer,
    topics jsonb NOT NULL DEFAULT '[]',
    key_concepts jsonb NOT NULL DEFAULT '[]',
    -- reading analytics
    total_highlights integer NOT NULL DEFAULT 0,
    total_bookmarks integer NOT NULL DEFAULT 0,
    total_shares integer NOT NULL DEFAULT 0,
    completion_rate_percent integer NOT NULL DEFAULT 0,
    -- social
    community_highlights_count integer NOT NULL DEFAULT 0,
    community_shares_count integer NOT NULL DEFAULT 0,
    community_rating double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- added: who may read it (PROTOCOL.md §3) and the file's identity for de-duplication
    visibility text NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
    file_sha256 text
);
CREATE INDEX index_books_on_user_id ON books (user_id);
CREATE INDEX index_books_on_title ON books (title);
CREATE INDEX index_books_on_author ON books (author);
CREATE INDEX index_books_on_genre ON books (genre);
CREATE INDEX index_books_on_processing_status ON books (processing_status);
CREATE INDEX index_books_on_difficulty_level ON books (difficulty_level);
CREATE INDEX index_books_on_topics ON books USING gin (topics);
CREATE INDEX index_books_on_created_at ON books (created_at);
CREATE INDEX index_books_on_genre_and_difficulty_level_and_created_at
    ON books (genre, difficulty_level, created_at);
CREATE INDEX index_books_on_processing_status_and_created_at
    ON books (processing_status, created_at);
CREATE INDEX index_books_on_user_id_and_processing_status_and_created_at
    ON books (user_id, processing_status, created_at);
-- the seed's trigram index, as core full-text search (pg_trgm may be absent)
CREATE INDEX index_books_on_title_and_author ON books USING gin
    (to_tsvector('simple', coalesce(title, '') || ' ' || coalesce(author, '')));
CREATE INDEX index_books_on_file_sha256 ON books (file_sha256);
CREATE INDEX index_books_on_visibility ON books (visibility) WHERE visibility = 'public';
CREATE TRIGGER books_updated_at BEFORE UPDATE ON books
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE book_chapters (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    title text,
    chapter_number integer,
    start_page integer,
    end_page integer,
    content text,
    ai_summary text,
    key_points jsonb NOT NULL DEFAULT '[]',
    word_count integer,
    character_count integer,
    start_offset integer,
    end_offset integer,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_book_chapters_on_book_id ON book_chapters (book_id);
CREATE INDEX index_book_chapters_on_chapter_number ON book_chapters (chapter_number);
CREATE INDEX index_book_chapters_on_start_page_and_end_page
    ON book_chapters (start_page, end_page);
CREATE UNIQUE INDEX index_book_chapters_on_book_id_and_chapter_number
    ON book_chapters (book_id, chapter_number);
CREATE TRIGGER book_chapters_updated_at BEFORE UPDATE ON book_chapters
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE book_embeddings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    book_chapter_id uuid REFERENCES book_chapters (id) ON DELETE CASCADE,
    content text NOT NULL,
    chunk_index integer,
    start_page integer,
    end_page integer,
    start_offset integer,
    end_offset integer,
    word_count integer,
    chunk_title text,
    -- all-MiniLM-L6-v2 gives 384 dimensions (the seed's 1536 was OpenAI ada-002)
    embedding vector(384),
    metadata jsonb NOT NULL DEFAULT '{}',
    importance_score double precision,
    topics jsonb NOT NULL DEFAULT '[]',
    content_type text,
    embedding_model text,
    embedded_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- added: full-text half of hybrid search
    tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', content)) STORED
);
CREATE INDEX index_book_embeddings_on_book_id ON book_embeddings (book_id);
CREATE INDEX index_book_embeddings_on_book_chapter_id ON book_embeddings (book_chapter_id);
CREATE INDEX index_book_embeddings_on_chunk_index ON book_embeddings (chunk_index);
CREATE INDEX index_book_embeddings_on_start_page_and_end_page
    ON book_embeddings (start_page, end_page);
CREATE INDEX index_book_embeddings_on_importance_score ON book_embeddings (importance_score);
CREATE INDEX index_book_embeddings_on_topics ON book_embeddings USING gin (topics);
CREATE INDEX index_book_embeddings_on_content_type ON book_embeddings (content_type);
-- HNSW instead of the seed's ivfflat: no training step, good recall on an empty table
CREATE INDEX index_book_embeddings_on_embedding ON book_embeddings
    USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX index_book_embeddings_on_tsv ON book_embeddings USING gin (tsv);
CREATE UNIQUE INDEX index_book_embeddings_on_book_id_and_chunk_index
    ON book_embeddings (book_id, chunk_index);
CREATE TRIGGER book_embeddings_updated_at BEFORE UPDATE ON book_embeddings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
