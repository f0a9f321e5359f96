-- Annotation media: a drawing's strokes as JSON, and the voice notes and images readers
-- attach, whose files are recorded here so that whatever removes an annotation (its
-- purge, its book's, its reader's) leaves no file behind: the schedule deletes the files
-- of records whose annotation is gone.
ALTER TABLE annotations ALTER COLUMN drawing_data TYPE jsonb USING drawing_data::jsonb;

CREATE TABLE annotation_media (
    key text PRIMARY KEY,
    annotation_id uuid NOT NULL,  -- no foreign key: the record outlives the row
    kind text NOT NULL CHECK (kind IN ('audio', 'image')),
    content_type text NOT NULL,
    bytes integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX index_annotation_media_on_annotation_id_and_kind
    ON annotation_media (annotation_id, kind);
