-- Imports of highlights from other tools (issue 17): the uploaded file, kept until the
-- import has run, its progress, and the report of what became of each entry.
CREATE TABLE imports (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    format text NOT NULL CHECK (format IN ('clippings', 'koreader', 'readwise')),
    filename text CHECK (char_length(filename) <= 255),
    source bytea CHECK (octet_length(source) <= 10485760),
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'completed', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    total integer NOT NULL DEFAULT 0,
    done integer NOT NULL DEFAULT 0,
    created_count integer NOT NULL DEFAULT 0,
    present_count integer NOT NULL DEFAULT 0,
    unmatched_count integer NOT NULL DEFAULT 0,
    other_book_count integer NOT NULL DEFAULT 0,
    report jsonb NOT NULL DEFAULT '[]',
    error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX index_imports_on_user_id_and_created_at ON imports (user_id, created_at DESC);
CREATE INDEX index_imports_unfinished ON imports (updated_at)
    WHERE status IN ('queued', 'running');
