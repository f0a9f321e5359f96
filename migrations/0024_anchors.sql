-- Anchoring (issue 17): each highlight, and each bookmark or note with a text position,
-- keeps a quote selector beside its offsets: its words and 32 characters on either side,
-- cut from the chapter text when it is made (or moved), so that when the book's text
-- changes it can be found again; one that cannot is kept, flagged orphaned.
ALTER TABLE highlights ADD COLUMN quote_prefix text, ADD COLUMN quote_suffix text,
    ADD COLUMN orphaned boolean NOT NULL DEFAULT false;
ALTER TABLE bookmarks ADD COLUMN quote_exact text, ADD COLUMN quote_prefix text,
    ADD COLUMN orphaned boolean NOT NULL DEFAULT false;
ALTER TABLE annotations ADD COLUMN quote_exact text, ADD COLUMN quote_prefix text,
    ADD COLUMN orphaned boolean NOT NULL DEFAULT false;

-- the words of book $1 from offset $2, $3 characters of them (within its chapter)
CREATE FUNCTION book_text_at(book uuid, at bigint, length integer) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT substr(c.content, (at - c.start_offset + 1)::integer, length)
    FROM book_chapters c
    WHERE c.book_id = book AND c.start_offset <= at AND at <= c.end_offset
    ORDER BY c.start_offset DESC LIMIT 1
$$;

-- the $3 characters of book $1 before offset $2 (within its chapter)
CREATE FUNCTION book_text_before(book uuid, at bigint, length integer) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT substr(c.content, greatest(1, at - c.start_offset - length + 1)::integer,
                  least(length, at - c.start_offset)::integer)
    FROM book_chapters c
    WHERE c.book_id = book AND c.start_offset <= at AND at <= c.end_offset
    ORDER BY c.start_offset DESC LIMIT 1
$$;

CREATE FUNCTION highlight_quote_context() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.start_offset IS NOT NULL AND NEW.end_offset IS NOT NULL THEN
        NEW.quote_prefix := book_text_before(NEW.book_id, NEW.start_offset, 32);
        NEW.quote_suffix := book_text_at(NEW.book_id, NEW.end_offset, 32);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER highlights_quote_context BEFORE INSERT OR UPDATE OF start_offset, end_offset
    ON highlights FOR EACH ROW EXECUTE FUNCTION highlight_quote_context();

-- a bookmark's or a note's place: `position_data.offset`, when it has one that is an offset
CREATE FUNCTION place_quote_context() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    at numeric;
BEGIN
    IF jsonb_typeof(NEW.position_data -> 'offset') = 'number' THEN
        at := (NEW.position_data ->> 'offset')::numeric;
        IF at >= 0 AND at <= 2000000000 THEN
            NEW.quote_exact := book_text_at(NEW.book_id, at::bigint, 32);
            NEW.quote_prefix := book_text_before(NEW.book_id, at::bigint, 32);
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER bookmarks_quote_context BEFORE INSERT OR UPDATE OF position_data
    ON bookmarks FOR EACH ROW EXECUTE FUNCTION place_quote_context();
CREATE TRIGGER annotations_quote_context BEFORE INSERT OR UPDATE OF position_data
    ON annotations FOR EACH ROW EXECUTE FUNCTION place_quote_context();

-- what exists already gets its selector now (not an edit: updated_at stays)
ALTER TABLE highlights DISABLE TRIGGER highlights_updated_at;
ALTER TABLE bookmarks DISABLE TRIGGER bookmarks_updated_at;
ALTER TABLE annotations DISABLE TRIGGER annotations_updated_at;
UPDATE highlights SET start_offset = start_offset
WHERE start_offset IS NOT NULL AND end_offset IS NOT NULL;
UPDATE bookmarks SET position_data = position_data
WHERE jsonb_typeof(position_data -> 'offset') = 'number';
UPDATE annotations SET position_data = position_data
WHERE jsonb_typeof(position_data -> 'offset') = 'number';
ALTER TABLE highlights ENABLE TRIGGER highlights_updated_at;
ALTER TABLE bookmarks ENABLE TRIGGER bookmarks_updated_at;
ALTER TABLE annotations ENABLE TRIGGER annotations_updated_at;

-- a book's file replaced by another edition (PUT /books/{id}/file): each counts as an
-- upload in the hourly limit (it is parsed and embedded again)
CREATE TABLE book_file_replacements (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    replaced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_book_file_replacements_on_user_id_and_replaced_at
    ON book_file_replacements (user_id, replaced_at);
