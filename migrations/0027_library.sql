-- The library: ratings, and the seed's book counters kept true by the database in the
-- transaction of each change (whoever writes), so no write path can forget one.

-- What the book's file said about the edition (domain/books/facts.py): a column the owner
-- never changed follows the file when it is replaced; one they changed stays theirs.
ALTER TABLE books ADD COLUMN file_facts jsonb NOT NULL DEFAULT '{}';

-- A reader's rating of a book they may read, 1-5; the book's community_rating is their
-- average.
CREATE TABLE book_ratings (
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (book_id, user_id)
);
CREATE INDEX index_book_ratings_on_user_id ON book_ratings (user_id);
CREATE TRIGGER book_ratings_updated_at BEFORE UPDATE ON book_ratings
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
ALTER TABLE books ADD COLUMN ratings_count integer NOT NULL DEFAULT 0;

CREATE FUNCTION count_book_ratings() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.book_id ELSE NEW.book_id END;
BEGIN
    UPDATE books b SET (community_rating, ratings_count) =
        (SELECT round(avg(rating)::numeric, 2)::float8, count(*) FROM book_ratings r
         WHERE r.book_id = target)
    WHERE b.id = target;
    RETURN NULL;
END;
$$;
CREATE TRIGGER book_ratings_counted AFTER INSERT OR UPDATE OR DELETE ON book_ratings
    FOR EACH ROW EXECUTE FUNCTION count_book_ratings();

-- readers_count: readers who opened the book (GET /books?sort=popular);
-- completion_rate_percent: the share of them who finished it. Only a new reader or a
-- change of `completed` moves them (not every page turn).
ALTER TABLE books ADD COLUMN readers_count integer NOT NULL DEFAULT 0;
CREATE FUNCTION count_book_completion() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.book_id ELSE NEW.book_id END;
BEGIN
    UPDATE books b SET (readers_count, completion_rate_percent) =
        (SELECT count(*), coalesce(round(100.0 * count(*) FILTER (WHERE completed)
                                         / nullif(count(*), 0)), 0)::integer
         FROM reading_progress p WHERE p.book_id = target)
    WHERE b.id = target;
    RETURN NULL;
END;
$$;
CREATE TRIGGER reading_progress_completion_counted
    AFTER INSERT OR DELETE ON reading_progress
    FOR EACH ROW EXECUTE FUNCTION count_book_completion();
CREATE TRIGGER reading_progress_completion_changed
    AFTER UPDATE OF completed ON reading_progress
    FOR EACH ROW WHEN (OLD.completed IS DISTINCT FROM NEW.completed)
    EXECUTE FUNCTION count_book_completion();

-- total_shares: quote cards made from the book's highlights; community_shares_count:
-- those made by readers other than the book's owner.
CREATE FUNCTION count_book_shares() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    target uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.book_id ELSE NEW.book_id END;
BEGIN
    UPDATE books b SET (total_shares, community_shares_count) =
        (SELECT count(*), count(*) FILTER (WHERE q.user_id IS DISTINCT FROM b.user_id)
         FROM quote_shares q WHERE q.book_id = target)
    WHERE b.id = target;
    RETURN NULL;
END;
$$;
CREATE TRIGGER quote_shares_counted AFTER INSERT OR DELETE ON quote_shares
    FOR EACH ROW EXECUTE FUNCTION count_book_shares();

UPDATE books b SET
    (readers_count, completion_rate_percent) = (
        SELECT count(*), coalesce(round(100.0 * count(*) FILTER (WHERE completed)
                                        / nullif(count(*), 0)), 0)::integer
        FROM reading_progress p WHERE p.book_id = b.id),
    (total_shares, community_shares_count) = (
        SELECT count(*), count(*) FILTER (WHERE q.user_id IS DISTINCT FROM b.user_id)
        FROM quote_shares q WHERE q.book_id = b.id);

-- GET /books?q=: words of the title and author
CREATE INDEX index_books_on_title_and_author_words ON books
    USING gin (to_tsvector('simple', title || ' ' || coalesce(author, '')));
