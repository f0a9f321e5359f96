-- name: user_stats
-- Each table counted in its own subquery (a join of sessions and highlights would
-- multiply rows: 3 sessions and 5 highlights are 3 sessions' time, not 15). The
-- library is the reader's own books and the public ones they have opened.
SELECT
    (SELECT count(*) FROM (
        SELECT id FROM books WHERE user_id = $1 AND deleted_at IS NULL
        UNION
        SELECT book_id FROM reading_progress WHERE user_id = $1) lib) AS total_books,
    (SELECT count(*) FROM reading_progress WHERE user_id = $1 AND completed) AS completed_books,
    (SELECT count(*) FROM highlights WHERE user_id = $1 AND deleted_at IS NULL)
        AS total_highlights,
    (SELECT count(*) FROM bookmarks WHERE user_id = $1 AND deleted_at IS NULL)
        AS total_bookmarks,
    s.total_sessions,
    s.total_reading_time,
    s.average_reading_speed,
    (SELECT count(*) FROM quote_shares WHERE user_id = $1) AS quotes_shared
FROM (SELECT count(*) AS total_sessions,
             coalesce(sum(duration_seconds), 0)::bigint AS total_reading_time,
             coalesce(round(avg(reading_speed_wpm)::numeric, 1), 0)::float8
                 AS average_reading_speed
      FROM reading_sessions WHERE user_id = $1) s

-- name: reading_days
-- The reader's own calendar days with a session, newest first (enough for any streak
-- a year long).
SELECT DISTINCT (started_at AT TIME ZONE $2)::date AS day
FROM reading_sessions
WHERE user_id = $1 AND started_at > now() - interval '400 days'
ORDER BY day DESC

-- name: user_version
-- What the user's stats depend on moves this: every write that changes them emits an
-- event on the user's channel.
SELECT coalesce((SELECT seq FROM channel_heads WHERE channel = $1), 0) AS head,
       (SELECT time_zone FROM users WHERE id = $2) AS time_zone,
       (now() AT TIME ZONE coalesce((SELECT time_zone FROM users WHERE id = $2), 'UTC'))::date
           AS today

-- name: book_stats
SELECT
    coalesce(h.unique_highlighters, 0) AS unique_highlighters,
    coalesce(h.total_highlights, 0) AS total_highlights,
    (SELECT count(*) FROM quote_shares WHERE book_id = $1) AS total_shares,
    (SELECT count(*) FROM reading_progress WHERE book_id = $1) AS unique_readers,
    (SELECT coalesce(round(avg(progress_percentage)::numeric, 4), 0)::float8
     FROM reading_progress WHERE book_id = $1) AS average_completion_rate
FROM (SELECT count(DISTINCT user_id) AS unique_highlighters, count(*) AS total_highlights
      FROM highlights WHERE book_id = $1 AND deleted_at IS NULL) h

-- name: book_version
SELECT coalesce((SELECT seq FROM channel_heads WHERE channel = $2), 0) AS head,
       total_highlights, community_highlights_count
FROM books WHERE id = $1
