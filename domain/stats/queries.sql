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

-- name: reading_by_day
-- The last $2 days in the reader's time zone, oldest first, days without a session as 0.
WITH tz AS (SELECT coalesce((SELECT time_zone FROM users WHERE id = $1), 'UTC') AS name),
     today AS (SELECT (now() AT TIME ZONE (SELECT name FROM tz))::date AS day)
SELECT d.day::date AS date,
       coalesce(sum(s.duration_seconds), 0)::bigint AS seconds,
       coalesce(sum(s.pages_read), 0)::bigint AS pages,
       count(s.id) AS sessions
FROM generate_series((SELECT day FROM today) - ($2::int - 1), (SELECT day FROM today),
                     interval '1 day') AS d(day)
LEFT JOIN reading_sessions s
       ON s.user_id = $1
      AND s.started_at > now() - ($2::int + 1) * interval '1 day'
      AND (s.started_at AT TIME ZONE (SELECT name FROM tz))::date = d.day::date
GROUP BY d.day
ORDER BY d.day

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
