-- Books' counters moved from inside a statement that has just locked those books.
--
-- A statement that locks a book (FOR NO KEY UPDATE, in id order) and then updates it
-- can deadlock under READ COMMITTED: when another transaction updated the book after
-- the statement's snapshot was taken, the lock follows the row to its latest version,
-- but the UPDATE starts again from the version the snapshot saw and must take that
-- version's tuple lock -- which a third transaction, already waiting on us for the
-- book, holds. PostgreSQL then cancels one of the two (seen in the group-commit stress
-- tests, about one run in six). A function's query takes a snapshot of its own: it
-- sees the very version the caller locked and updates it without waiting.
--
-- `counts`: [{book_id, highlights, community, bookmarks}], one entry per book, each
-- amount optional; the caller holds the books' locks. Returns how many books moved.
CREATE FUNCTION count_books(counts jsonb) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    moved integer;
BEGIN
    UPDATE books b
    SET total_highlights = b.total_highlights + coalesce(c.highlights, 0),
        community_highlights_count = b.community_highlights_count + coalesce(c.community, 0),
        total_bookmarks = b.total_bookmarks + coalesce(c.bookmarks, 0)
    FROM jsonb_to_recordset(counts) AS c(book_id uuid, highlights integer, community integer,
                                         bookmarks integer)
    WHERE b.id = c.book_id;
    GET DIAGNOSTICS moved = ROW_COUNT;
    RETURN moved;
END
$$;
