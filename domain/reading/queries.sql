-- name: create_highlights
-- A group of creates in one statement (group commit, highlights.create_many; a single
-- create is a group of one). $1: the creates as JSON, each with its number `n`, its
-- channels and the highlight (read into a `highlights` row, and the events' data); $2:
-- the event name. One row per create, in order: whether the caller may write on the
-- book, the chapter the offset falls in, whether it was created now (a taken id inserts
-- nothing and has no events), the seqs of its events. The book's counters are kept
-- here; `book.stats` is announced apart, coalesced (highlights.announce_stats).
-- Locks: the group's books first (in id order, in `book`), then channel heads (in
-- channel order, in `store_events`): the order every other write takes them in (a
-- book's counters, then heads by channel), so concurrent groups and writes never
-- deadlock.
WITH input AS (
    SELECT x.n, x.origin, x.user_channel, x.book_channel, x.highlight AS data, h.*
    FROM jsonb_to_recordset($1::jsonb)
             AS x(n int, origin text, user_channel text, book_channel text, highlight jsonb)
    CROSS JOIN LATERAL jsonb_populate_record(NULL::highlights, x.highlight) AS h
), book AS MATERIALIZED (
    SELECT b.id, b.user_id, b.visibility FROM books b
    WHERE b.id = ANY (ARRAY(SELECT DISTINCT book_id FROM input)) AND b.deleted_at IS NULL
    ORDER BY b.id
    FOR NO KEY UPDATE
), place AS (
    SELECT i.n,
           (SELECT c.id FROM book_chapters c
            WHERE c.book_id = b.id AND c.start_offset <= i.start_offset
              AND c.end_offset > i.start_offset
            LIMIT 1) AS chapter_id
    FROM input i JOIN book b ON b.id = i.book_id AND (b.user_id = i.user_id OR b.visibility = 'public')
), inserted AS (
    INSERT INTO highlights (id, user_id, book_id, book_chapter_id, selected_text, word_count,
                            character_count, page_number, start_offset, end_offset,
                            position_data, color, color_hex, category, note, tags, public,
                            device_type, created_at, updated_at)
    SELECT i.id, i.user_id, i.book_id, p.chapter_id, i.selected_text, i.word_count,
           i.character_count, i.page_number, i.start_offset, i.end_offset,
           coalesce(i.position_data, '{}'), i.color, i.color_hex, i.category, i.note,
           coalesce(i.tags, '[]'), i.public, i.device_type, i.created_at, i.created_at
    FROM input i JOIN place p USING (n)
    ON CONFLICT (id) DO NOTHING
    RETURNING id
), made AS (
    SELECT i.n, i.book_id, i.public, i.origin, i.user_channel, i.book_channel,
           i.data || jsonb_build_object('book_chapter_id', p.chapter_id) AS data
    FROM input i JOIN place p USING (n) JOIN inserted USING (id)
), counted AS MATERIALIZED (
    -- in a function of its own, after the books are locked (migration 0033 says why)
    SELECT count_books(coalesce(jsonb_agg(jsonb_build_object(
               'book_id', book_id, 'highlights', total, 'community', community)), '[]'))
    FROM (SELECT book_id, count(*) AS total, count(*) FILTER (WHERE public) AS community
          FROM made GROUP BY book_id) AS m
), events AS (
    -- `ord`: a create's events in order (the owner's, then the book's while public)
    SELECT row_number() OVER (ORDER BY n, ord) AS i, e.* FROM (
        SELECT n, 1 AS ord, user_channel AS channel, data, origin FROM made
        UNION ALL
        SELECT n, 2, book_channel, data, origin FROM made WHERE public
    ) AS e
), placed AS MATERIALIZED (
    SELECT e.n, e.ord, s.seq
    FROM store_events((SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'channel', channel, 'event', $2::text, 'data', data,
                          'origin', origin) ORDER BY i), '[]') FROM events)) AS s
    JOIN events e USING (i)
)
SELECT i.n, p.n IS NOT NULL AS allowed, p.chapter_id, m.n IS NOT NULL AS created,
       coalesce(s.seqs, '{}') AS seqs, now() AS created_at
FROM input i
CROSS JOIN counted  -- read, so that it runs
LEFT JOIN place p USING (n)
LEFT JOIN made m USING (n)
LEFT JOIN (SELECT n, array_agg(seq ORDER BY ord) AS seqs FROM placed GROUP BY n) s USING (n)
ORDER BY i.n

-- name: highlight_by_id
SELECT {highlight_columns}, deleted_at FROM highlights WHERE id = $1

-- name: update_highlights
-- $1: the columns each change writes, by id; $2: the ids, locked by the caller
UPDATE highlights
SET (color, color_hex, category, note, tags, public, position_data) =
    (SELECT p.color, p.color_hex, p.category, p.note, p.tags, p.public, p.position_data
     FROM jsonb_populate_record(NULL::highlights, $1::jsonb -> highlights.id::text) AS p)
WHERE id = ANY($2::uuid[])
RETURNING {highlight_columns}

-- name: highlights_for_change
-- live or deleted (not yet purged): a restore looks at tombstones
SELECT {highlight_columns}, deleted_at FROM highlights
WHERE id = ANY($1::uuid[])
ORDER BY id
FOR UPDATE

-- name: tombstone_highlights
UPDATE highlights SET deleted_at = now() WHERE id = ANY($1::uuid[])

-- name: untombstone_highlights
UPDATE highlights SET deleted_at = NULL WHERE id = ANY($1::uuid[])

-- name: count_books
-- Books' counters moved ($1: [{book_id, highlights, community, bookmarks}], one entry
-- per book), the books locked first in id order, as every write takes them; the
-- counting in a function of its own (migration 0033 says why).
WITH locked AS MATERIALIZED (
    SELECT id FROM books
    WHERE id = ANY (ARRAY(SELECT (c->>'book_id')::uuid FROM jsonb_array_elements($1::jsonb) AS c))
    ORDER BY id
    FOR NO KEY UPDATE
)
SELECT count_books($1::jsonb) FROM (SELECT count(*) FROM locked) AS taken

-- name: book_counters
SELECT id AS book_id, community_highlights_count, total_highlights FROM books
WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL
ORDER BY id

-- name: own_highlights
SELECT {highlight_columns} FROM highlights
WHERE user_id = $1 AND book_id = $2 AND deleted_at IS NULL
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
ORDER BY created_at DESC, id DESC
LIMIT $5

-- name: public_highlights
SELECT {highlight_columns} FROM highlights
WHERE book_id = $1 AND public AND deleted_at IS NULL
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
ORDER BY created_at DESC, id DESC
LIMIT $4

-- name: create_bookmarks
-- A group of bookmark creates in one statement (group commit, bookmarks.create_many; a
-- single create is a group of one; the events are appended after it, in the same
-- transaction). $1: the creates as JSON, each with its number `n`. One row per create,
-- in order: whether the caller may write on the book, and the bookmark when it was
-- created now (a taken id inserts nothing). Locks: the group's books in id order (their
-- counters), before the caller takes any channel head.
WITH input AS (
    SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(
        n int, id uuid, user_id uuid, book_id uuid, title text, note text, category text,
        page_number integer, position_data jsonb, context_text text, icon text)
), book AS MATERIALIZED (
    SELECT b.id, b.user_id, b.visibility FROM books b
    WHERE b.id = ANY (ARRAY(SELECT DISTINCT book_id FROM input)) AND b.deleted_at IS NULL
    ORDER BY b.id
    FOR NO KEY UPDATE
), allowed AS (
    SELECT i.* FROM input i
    JOIN book b ON b.id = i.book_id AND (b.user_id = i.user_id OR b.visibility = 'public')
), inserted AS (
    INSERT INTO bookmarks (id, user_id, book_id, title, note, category, page_number,
                           position_data, context_text, icon,
                           reading_progress_when_created, last_visited_at)
    SELECT a.id, a.user_id, a.book_id, a.title, a.note, a.category, a.page_number,
           a.position_data, a.context_text, a.icon, p.progress_percentage, now()
    FROM allowed a
    LEFT JOIN reading_progress p ON p.user_id = a.user_id AND p.book_id = a.book_id
    ORDER BY a.n
    ON CONFLICT (id) DO NOTHING
    RETURNING {bookmark_columns}
), counted AS MATERIALIZED (
    -- in a function of its own, after the books are locked (migration 0033 says why)
    SELECT count_books(coalesce(jsonb_agg(jsonb_build_object(
               'book_id', book_id, 'bookmarks', made)), '[]'))
    FROM (SELECT book_id, count(*) AS made FROM inserted GROUP BY book_id) AS c
)
SELECT i.n, a.n IS NOT NULL AS allowed, ins.id IS NOT NULL AS created, ins.*
FROM input i
CROSS JOIN counted  -- read, so that it runs
LEFT JOIN allowed a USING (n)
LEFT JOIN inserted ins ON ins.id = i.id
ORDER BY i.n

-- name: bookmark_by_id
SELECT {bookmark_columns}, user_id, deleted_at FROM bookmarks WHERE id = $1

-- name: update_bookmarks
-- $1: the columns each change writes, by id; $2: the ids, locked by the caller
UPDATE bookmarks
SET (title, note, category, page_number, position_data, context_text, icon) =
    (SELECT p.title, p.note, p.category, p.page_number, p.position_data, p.context_text, p.icon
     FROM jsonb_populate_record(NULL::bookmarks, $1::jsonb -> bookmarks.id::text) AS p)
WHERE id = ANY($2::uuid[])
RETURNING {bookmark_columns}

-- name: bookmarks_for_change
-- live or deleted (not yet purged): a restore looks at tombstones
SELECT {bookmark_columns}, user_id, deleted_at FROM bookmarks
WHERE id = ANY($1::uuid[])
ORDER BY id
FOR UPDATE

-- name: tombstone_bookmarks
UPDATE bookmarks SET deleted_at = now() WHERE id = ANY($1::uuid[])

-- name: untombstone_bookmarks
UPDATE bookmarks SET deleted_at = NULL WHERE id = ANY($1::uuid[])

-- name: insert_auto_bookmarks
-- A group of auto bookmark moves (group commit, bookmarks.set_auto_many), at most one per
-- (reader, book), first step: each reader's auto bookmark of the book made where there
-- is none (in (book, reader) order, so concurrent groups wait on each other's new rows
-- in one order). $1: the moves as JSON, each with its number `n`. One row per move, in
-- order: whether the reader may read the book, the bookmark's title, and the bookmark
-- when it was made now. The others move in `move_auto_bookmarks`.
WITH input AS (
    SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(
        n int, user_id uuid, book_id uuid, page_number integer, position_data jsonb,
        context_text text)
), readable AS (
    SELECT i.*, left('Reading Position - ' || b.title, 200) AS heading FROM input i
    JOIN books b ON b.id = i.book_id AND b.deleted_at IS NULL
                AND (b.user_id = i.user_id OR b.visibility = 'public')
), inserted AS (
    INSERT INTO bookmarks AS k (user_id, book_id, title, category, page_number,
                                position_data, context_text, is_auto_bookmark,
                                last_visited_at, reading_progress_when_created)
    SELECT r.user_id, r.book_id, r.heading, 'auto', r.page_number, r.position_data,
           r.context_text, true, now(), p.progress_percentage
    FROM readable r
    LEFT JOIN reading_progress p ON p.user_id = r.user_id AND p.book_id = r.book_id
    ORDER BY r.book_id, r.user_id
    ON CONFLICT (user_id, book_id, is_auto_bookmark) WHERE is_auto_bookmark = true
    DO NOTHING
    RETURNING {bookmark_columns}, k.user_id
)
SELECT i.n, r.n IS NOT NULL AS allowed, r.heading, ins.id IS NOT NULL AS made, ins.*
FROM input i
LEFT JOIN readable r USING (n)
LEFT JOIN inserted ins ON ins.user_id = i.user_id AND ins.book_id = i.book_id
ORDER BY i.n

-- name: move_auto_bookmarks
-- The second step: the auto bookmarks that exist move (locked in (book, reader) order;
-- one that was deleted is revived, and counts again: the caller then counts the books,
-- as a bookmark delete takes its row, then its book). $1: the moves as JSON (n, reader,
-- book, page, position, context, heading). Returns the moved bookmarks with their move's
-- `n` and whether each was revived.
WITH input AS (
    SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(
        n int, reader uuid, book uuid, page integer, position jsonb, context text,
        heading text)
), old AS MATERIALIZED (
    SELECT k.id AS mark, k.deleted_at AS was_deleted, i.n FROM bookmarks k
    JOIN input i ON k.user_id = i.reader AND k.book_id = i.book AND k.is_auto_bookmark
    ORDER BY k.book_id, k.user_id
    FOR UPDATE OF k
), moved AS (
    UPDATE bookmarks k
    SET page_number = i.page, position_data = i.position, context_text = i.context,
        title = i.heading, last_visited_at = now(), deleted_at = NULL
    FROM old o JOIN input i USING (n)
    WHERE k.id = o.mark
    RETURNING {bookmark_columns}, o.n, o.was_deleted IS NOT NULL AS revived
)
SELECT * FROM moved

-- name: own_bookmarks
SELECT {bookmark_columns} FROM bookmarks
WHERE user_id = $1 AND book_id = $2 AND deleted_at IS NULL
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
ORDER BY created_at DESC, id DESC
LIMIT $5

-- name: create_annotations
-- A group of annotation creates in one statement (group commit, annotations.create_many;
-- a single create is a group of one; the events are appended after it, in the same
-- transaction). $1: the creates as JSON, each with its number `n`. One row per create,
-- in order: whether the caller may write on the book, whether the highlight or bookmark
-- it links to is theirs, live, on that book, and the annotation when it was created now
-- (a taken id inserts nothing).
WITH input AS (
    SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(
        n int, id uuid, user_id uuid, book_id uuid, highlight_id uuid, bookmark_id uuid,
        annotation_type text, content text, plain_text_content text, page_number integer,
        position_data jsonb, attached_text text, audio_transcript text, drawing_data jsonb,
        tags jsonb, word_count integer, public boolean)
), readable AS (
    SELECT i.* FROM input i
    JOIN books b ON b.id = i.book_id AND b.deleted_at IS NULL
                AND (b.user_id = i.user_id OR b.visibility = 'public')
), linked AS (
    SELECT r.* FROM readable r
    WHERE (r.highlight_id IS NULL OR EXISTS (
               SELECT FROM highlights h
               WHERE h.id = r.highlight_id AND h.user_id = r.user_id
                 AND h.book_id = r.book_id AND h.deleted_at IS NULL))
      AND (r.bookmark_id IS NULL OR EXISTS (
               SELECT FROM bookmarks k
               WHERE k.id = r.bookmark_id AND k.user_id = r.user_id
                 AND k.book_id = r.book_id AND k.deleted_at IS NULL))
), inserted AS (
    INSERT INTO annotations (id, user_id, book_id, highlight_id, bookmark_id,
                             annotation_type, content, plain_text_content, page_number,
                             position_data, attached_text, audio_transcript, drawing_data,
                             tags, word_count, public)
    SELECT id, user_id, book_id, highlight_id, bookmark_id, annotation_type, content,
           plain_text_content, page_number, position_data, attached_text,
           audio_transcript, drawing_data, tags, word_count, public
    FROM linked ORDER BY n
    ON CONFLICT (id) DO NOTHING
    RETURNING {annotation_columns}
)
SELECT i.n, r.n IS NOT NULL AS allowed, l.n IS NOT NULL AS linked,
       ins.id IS NOT NULL AS created, ins.*
FROM input i
LEFT JOIN readable r USING (n)
LEFT JOIN linked l USING (n)
LEFT JOIN inserted ins ON ins.id = i.id
ORDER BY i.n

-- name: annotation_by_id
SELECT {annotation_columns}, deleted_at FROM annotations WHERE id = $1

-- name: update_annotations
-- $1: the columns each change writes, by id; $2: the ids, locked by the caller
UPDATE annotations
SET (content, plain_text_content, word_count, page_number, tags, public, position_data, audio_transcript, drawing_data) =
    (SELECT p.content, p.plain_text_content, p.word_count, p.page_number, p.tags, p.public, p.position_data, p.audio_transcript, p.drawing_data
     FROM jsonb_populate_record(NULL::annotations, $1::jsonb -> annotations.id::text) AS p)
WHERE id = ANY($2::uuid[])
RETURNING {annotation_columns}

-- name: annotations_for_change
-- live or deleted (not yet purged): a restore looks at tombstones
SELECT {annotation_columns}, deleted_at FROM annotations
WHERE id = ANY($1::uuid[])
ORDER BY id
FOR UPDATE

-- name: tombstone_annotations
UPDATE annotations SET deleted_at = now() WHERE id = ANY($1::uuid[])

-- name: untombstone_annotations
UPDATE annotations SET deleted_at = NULL WHERE id = ANY($1::uuid[])

-- name: own_annotations
SELECT {annotation_columns} FROM annotations
WHERE user_id = $1 AND book_id = $2 AND deleted_at IS NULL
  AND ($3::text IS NULL
       OR to_tsvector('english', coalesce(plain_text_content, ''))
          @@ websearch_to_tsquery('english', $3))
  AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
ORDER BY created_at DESC, id DESC
LIMIT $6

-- name: update_progresses
-- A group of progress updates in one statement (group commit, progress.update_many; a
-- single update is a group of one). $1: the updates as JSON, each with its number `n`,
-- its user channel and its event's data, at most one per (reader, book) (the caller
-- runs a reader's later updates of the same book as a later group in the same
-- transaction); $2: the completion threshold; $3: the event name. For each update
-- whose book the reader may read: the latest position (last write wins, in server
-- order), the furthest one (moves only forward: decided in the upsert against the
-- locked row, so concurrent devices never lose a race), the device's own position, and
-- the progress.updated event. Further = by character offset when both positions have
-- one (exact across devices and layouts), else by fraction of the book. One row per
-- update, in order: its event's seq, NULL when the book is not the reader's to read.
-- Locks: rows in (book, reader) order (a new reader's row also updates its book's
-- counters: books in id order, as highlight groups take them), then channel heads in
-- channel order, so concurrent writes never deadlock.
WITH input AS (
    SELECT x.*
    FROM jsonb_to_recordset($1::jsonb) AS x(
        n int, user_id uuid, book_id uuid, current_page integer,
        current_character_offset integer, progress_percentage float8, position_data jsonb,
        device text, updated_at timestamptz, channel text, data jsonb, origin text)
), readable AS MATERIALIZED (
    SELECT i.* FROM input i JOIN books b ON b.id = i.book_id
    WHERE (b.user_id = i.user_id OR b.visibility = 'public') AND b.deleted_at IS NULL
), latest AS (
    INSERT INTO reading_progress AS p
        (user_id, book_id, current_page, current_character_offset, progress_percentage,
         position_data, device, first_opened_at, last_read_at,
         furthest_page, furthest_character_offset, furthest_percentage,
         furthest_position_data, furthest_at, completed, completed_at)
    SELECT r.user_id, r.book_id, r.current_page, r.current_character_offset,
           r.progress_percentage, r.position_data, r.device, r.updated_at, r.updated_at,
           r.current_page, r.current_character_offset, r.progress_percentage,
           r.position_data, r.updated_at, r.progress_percentage >= $2::float8,
           CASE WHEN r.progress_percentage >= $2::float8 THEN r.updated_at END
    FROM readable r ORDER BY r.book_id, r.user_id
    ON CONFLICT (user_id, book_id) DO UPDATE
    SET current_page = EXCLUDED.current_page,
        current_character_offset = EXCLUDED.current_character_offset,
        progress_percentage = EXCLUDED.progress_percentage,
        position_data = EXCLUDED.position_data,
        device = EXCLUDED.device,
        last_read_at = EXCLUDED.last_read_at,
        (furthest_page, furthest_character_offset, furthest_percentage,
         furthest_position_data, furthest_at) =
            (SELECT CASE WHEN further THEN EXCLUDED.current_page ELSE p.furthest_page END,
                    CASE WHEN further THEN EXCLUDED.current_character_offset
                         ELSE p.furthest_character_offset END,
                    CASE WHEN further THEN EXCLUDED.progress_percentage
                         ELSE p.furthest_percentage END,
                    CASE WHEN further THEN EXCLUDED.position_data
                         ELSE p.furthest_position_data END,
                    CASE WHEN further THEN EXCLUDED.last_read_at ELSE p.furthest_at END
             FROM (SELECT CASE
                 WHEN p.furthest_percentage IS NULL AND p.furthest_character_offset IS NULL
                     THEN true
                 WHEN EXCLUDED.current_character_offset IS NOT NULL
                      AND p.furthest_character_offset IS NOT NULL
                     THEN EXCLUDED.current_character_offset > p.furthest_character_offset
                 ELSE EXCLUDED.progress_percentage > coalesce(p.furthest_percentage, 0)
             END AS further) AS f),
        completed = p.completed OR EXCLUDED.progress_percentage >= $2,
        completed_at = coalesce(p.completed_at,
                                CASE WHEN EXCLUDED.progress_percentage >= $2
                                     THEN EXCLUDED.last_read_at END)
    RETURNING p.user_id, p.book_id
), device AS (
    INSERT INTO reading_positions (user_id, book_id, device, current_page,
                                   current_character_offset, progress_percentage,
                                   position_data, updated_at)
    SELECT r.user_id, r.book_id, r.device, r.current_page, r.current_character_offset,
           r.progress_percentage, r.position_data, r.updated_at
    FROM readable r ORDER BY r.book_id, r.user_id
    ON CONFLICT (user_id, book_id, device) DO UPDATE
    SET current_page = EXCLUDED.current_page,
        current_character_offset = EXCLUDED.current_character_offset,
        progress_percentage = EXCLUDED.progress_percentage,
        position_data = EXCLUDED.position_data,
        updated_at = EXCLUDED.updated_at
), events AS (
    SELECT row_number() OVER (ORDER BY r.n) AS i, r.n, r.channel, r.data, r.origin
    FROM readable r JOIN latest l USING (user_id, book_id)
), placed AS MATERIALIZED (
    SELECT e.n, s.seq
    FROM store_events((SELECT coalesce(jsonb_agg(jsonb_build_object(
                          'channel', channel, 'event', $3::text, 'data', data,
                          'origin', origin) ORDER BY i), '[]') FROM events)) AS s
    JOIN events e USING (i)
)
SELECT i.n, pl.seq, now() AS created_at
FROM input i LEFT JOIN placed pl USING (n)
ORDER BY i.n

-- name: progress_row
SELECT * FROM reading_progress WHERE user_id = $1 AND book_id = $2

-- name: device_positions
SELECT book_id, device, current_page, current_character_offset, progress_percentage,
       position_data, updated_at
FROM reading_positions WHERE user_id = $1 AND book_id = $2
ORDER BY updated_at DESC

-- name: reset_furthest
UPDATE reading_progress
SET furthest_page = current_page,
    furthest_character_offset = current_character_offset,
    furthest_percentage = progress_percentage,
    furthest_position_data = position_data,
    furthest_at = now()
WHERE user_id = $1 AND book_id = $2

-- name: lock_session_ids
-- sessions are partitioned by start time, so an id alone has no unique index: a lock on
-- each id of a group makes the check-then-insert of a retried start safe (taken in the
-- order of the locks' own keys, so concurrent groups never deadlock)
SELECT pg_advisory_xact_lock(k)
FROM (SELECT DISTINCT hashtextextended(i, 0) AS k FROM unnest($1::text[]) AS i ORDER BY 1) AS l

-- name: start_sessions
-- A group of session starts in one statement (group commit, sessions.start_many; the ids
-- locked before, the events appended after, in the same transaction). $1: the starts as
-- JSON, each with its number `n`. One row per start, in order: whether the caller may
-- read the book, and the session when it was started now (a known id inserts nothing).
WITH input AS (
    SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(
        n int, id uuid, user_id uuid, book_id uuid, start_page integer, device_type text,
        platform text)
), readable AS (
    SELECT i.* FROM input i
    JOIN books b ON b.id = i.book_id AND b.deleted_at IS NULL
                AND (b.user_id = i.user_id OR b.visibility = 'public')
), inserted AS (
    INSERT INTO reading_sessions (id, user_id, book_id, start_page, device_type, platform)
    SELECT r.id, r.user_id, r.book_id, r.start_page, r.device_type, r.platform
    FROM readable r
    WHERE NOT EXISTS (SELECT FROM reading_sessions s WHERE s.id = r.id)
    ORDER BY r.n
    RETURNING {session_columns}
)
SELECT i.n, r.n IS NOT NULL AS allowed, ins.id IS NOT NULL AS created, ins.*
FROM input i
LEFT JOIN readable r USING (n)
LEFT JOIN inserted ins ON ins.id = i.id
ORDER BY i.n

-- name: session_by_id
SELECT {session_columns}, user_id FROM reading_sessions WHERE id = $1

-- name: sessions_for_update
SELECT {session_columns}, user_id FROM reading_sessions
WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE

-- name: end_sessions
-- Sessions ended (by their devices, or closed when left idle) and rolled into each
-- reader's progress on the book, in one statement. $1: the ends as JSON, their rows
-- already locked. Returns the ended sessions. Progress rows are taken in (book, reader)
-- order, as progress groups take them.
WITH input AS (
    SELECT x.* FROM jsonb_to_recordset($1::jsonb) AS x(
        session_id uuid, session_started_at timestamptz, reader uuid, book uuid,
        at timestamptz, last_page integer, words integer, duration integer, pages integer,
        wpm float8)
), ended AS (
    UPDATE reading_sessions
    SET ended_at = i.at, end_page = i.last_page, words_read = i.words,
        duration_seconds = i.duration, pages_read = i.pages, reading_speed_wpm = i.wpm
    FROM input i
    WHERE id = i.session_id AND started_at = i.session_started_at
    RETURNING {session_columns}
), rolled AS (
    INSERT INTO reading_progress AS p (user_id, book_id, total_time_spent_seconds,
                                       total_sessions, first_opened_at)
    SELECT reader, book, sum(duration), count(*), now() FROM input
    GROUP BY book, reader ORDER BY book, reader
    ON CONFLICT (user_id, book_id) DO UPDATE
    SET total_time_spent_seconds = p.total_time_spent_seconds
                                   + EXCLUDED.total_time_spent_seconds,
        total_sessions = p.total_sessions + EXCLUDED.total_sessions,
        completion_time_seconds =
            CASE WHEN p.completed AND p.completion_time_seconds IS NULL
                 THEN p.total_time_spent_seconds + EXCLUDED.total_time_spent_seconds
                 ELSE p.completion_time_seconds END
)
SELECT * FROM ended

-- name: furthest
SELECT furthest_character_offset, furthest_percentage FROM reading_progress
WHERE user_id = $1 AND book_id = $2

-- name: sessions_of_book
-- the caller's sessions on a book, newest first ($3, $4: the last page's cursor)
SELECT {session_columns} FROM reading_sessions
WHERE user_id = $1 AND book_id = $2
  AND ($3::timestamptz IS NULL OR (started_at, id) < ($3, $4))
ORDER BY started_at DESC, id DESC
LIMIT $5

-- name: reading_state
-- the caller's reading of a book, and the reading time of their last 14 days on it
SELECT p.first_opened_at, p.last_read_at, p.progress_percentage, p.completed,
       p.completed_at, coalesce(p.total_time_spent_seconds, 0) AS total_time_spent_seconds,
       coalesce(p.total_sessions, 0) AS total_sessions, p.completion_time_seconds,
       (SELECT coalesce(sum(s.duration_seconds), 0) FROM reading_sessions s
        WHERE s.user_id = $1 AND s.book_id = $2 AND s.ended_at IS NOT NULL
          AND s.started_at > now() - interval '14 days') AS recent_seconds
FROM (SELECT 1) one
LEFT JOIN reading_progress p ON p.user_id = $1 AND p.book_id = $2

-- name: close_stale_sessions
-- Sessions a device never ended (closed tab, dead battery) end at their last activity:
-- the latest position any of the reader's devices saved in the book since the session
-- began, else its start. Only sessions idle for $1 or longer; a batch at a time.
SELECT s.id, s.started_at, s.user_id, s.book_id, s.start_page, a.last_active,
       (SELECT p.current_page FROM reading_progress p
        WHERE p.user_id = s.user_id AND p.book_id = s.book_id) AS last_page
FROM reading_sessions s
CROSS JOIN LATERAL (
    SELECT greatest(s.started_at, (SELECT max(r.updated_at) FROM reading_positions r
                                   WHERE r.user_id = s.user_id AND r.book_id = s.book_id
                                     AND r.updated_at >= s.started_at)) AS last_active
) a
WHERE s.ended_at IS NULL AND s.started_at < now() - $1::interval
  AND a.last_active < now() - $1::interval
ORDER BY s.started_at
LIMIT $2
FOR UPDATE OF s SKIP LOCKED

-- name: store_analyses
-- The schedule's scores and analyses ($1: [{hid, score, analysis}]) on highlights that
-- still exist; each returned to tell its owner's devices.
UPDATE highlights h SET ai_importance_score = x.score, ai_analysis = x.analysis
FROM jsonb_to_recordset($1::jsonb) AS x(hid uuid, score float8, analysis jsonb)
WHERE h.id = x.hid AND h.deleted_at IS NULL
RETURNING {highlight_columns}

-- name: my_highlights
-- The caller's highlights across their books, filtered ($2 book, $3 color, $4 category,
-- $5 tag, $6 public, $7 words of the text or note), newest first. Only on books they
-- may still read: one turned private by its owner shows nothing more, here as anywhere.
SELECT {highlight_columns} FROM highlights h
WHERE user_id = $1 AND deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM books b WHERE b.id = h.book_id AND b.deleted_at IS NULL
                                      AND (b.user_id = $1 OR b.visibility = 'public'))
  AND ($2::uuid IS NULL OR book_id = $2)
  AND ($3::text IS NULL OR color = $3)
  AND ($4::text IS NULL OR category = $4)
  AND ($5::text IS NULL OR tags ? $5)
  AND ($6::boolean IS NULL OR public = $6)
  AND ($7::text IS NULL OR to_tsvector('english', selected_text || ' ' || coalesce(note, ''))
                           @@ websearch_to_tsquery('english', $7))
  AND ($8::timestamptz IS NULL OR (created_at, id) < ($8, $9))
ORDER BY created_at DESC, id DESC
LIMIT $10

-- name: my_bookmarks
-- $2 book, $3 category, $4 words of the title, note or the text where it was set
SELECT {bookmark_columns} FROM bookmarks k
WHERE user_id = $1 AND deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM books b WHERE b.id = k.book_id AND b.deleted_at IS NULL
                                      AND (b.user_id = $1 OR b.visibility = 'public'))
  AND ($2::uuid IS NULL OR book_id = $2)
  AND ($3::text IS NULL OR category = $3)
  AND ($4::text IS NULL OR to_tsvector('english', coalesce(title, '') || ' ' || coalesce(note, '')
                                       || ' ' || coalesce(context_text, ''))
                           @@ websearch_to_tsquery('english', $4))
  AND ($5::timestamptz IS NULL OR (created_at, id) < ($5, $6))
ORDER BY created_at DESC, id DESC
LIMIT $7

-- name: my_annotations
-- $2 book, $3 type, $4 tag, $5 public, $6 words of the plain text
SELECT {annotation_columns} FROM annotations a
WHERE user_id = $1 AND deleted_at IS NULL
  AND EXISTS (SELECT 1 FROM books b WHERE b.id = a.book_id AND b.deleted_at IS NULL
                                      AND (b.user_id = $1 OR b.visibility = 'public'))
  AND ($2::uuid IS NULL OR book_id = $2)
  AND ($3::text IS NULL OR annotation_type = $3)
  AND ($4::text IS NULL OR tags ? $4)
  AND ($5::boolean IS NULL OR public = $5)
  AND ($6::text IS NULL OR to_tsvector('english', coalesce(plain_text_content, ''))
                           @@ websearch_to_tsquery('english', $6))
  AND ($7::timestamptz IS NULL OR (created_at, id) < ($7, $8))
ORDER BY created_at DESC, id DESC
LIMIT $9

-- name: set_annotation_audio
UPDATE annotations SET audio_file_url = $2, audio_duration_seconds = $3 WHERE id = $1
RETURNING {annotation_columns}

-- name: set_annotation_image
UPDATE annotations SET image_url = $2 WHERE id = $1
RETURNING {annotation_columns}

-- name: record_media
INSERT INTO annotation_media (key, annotation_id, kind, content_type, bytes)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (key) DO UPDATE SET content_type = EXCLUDED.content_type,
                                bytes = EXCLUDED.bytes, created_at = now()

-- name: media_of
SELECT key, content_type FROM annotation_media WHERE annotation_id = $1 AND kind = $2

-- name: orphaned_media
-- files of annotations gone by any road (their purge, their book's, their reader's)
SELECT key, annotation_id FROM annotation_media m
WHERE NOT EXISTS (SELECT 1 FROM annotations a WHERE a.id = m.annotation_id)
LIMIT $1

-- name: forget_media
DELETE FROM annotation_media WHERE key = ANY($1)
