-- The seed's three materialized views. The seed joined every child table to users (or
-- books) at once, which multiplies rows: a user with 3 sessions and 5 highlights got
-- 15x the reading time. Each table is aggregated in its own subquery instead, then
-- joined one row per key. Tombstoned rows (deleted_at) are not counted.
CREATE MATERIALIZED VIEW user_reading_stats AS
SELECT
    u.id AS user_id,
    u.subscription_tier,
    coalesce(b.total_books, 0) AS total_books,
    coalesce(h.total_highlights, 0) AS total_highlights,
    coalesce(bm.total_bookmarks, 0) AS total_bookmarks,
    coalesce(rs.total_sessions, 0) AS total_sessions,
    coalesce(rs.total_reading_time, 0) AS total_reading_time,
    coalesce(rs.average_reading_speed, 0) AS average_reading_speed,
    coalesce(qs.quotes_shared, 0) AS quotes_shared,
    rs.last_reading_session
FROM users u
LEFT JOIN (SELECT user_id, count(*) AS total_books FROM books GROUP BY user_id) b
    ON b.user_id = u.id
LEFT JOIN (SELECT user_id, count(*) AS total_highlights FROM highlights
           WHERE deleted_at IS NULL GROUP BY user_id) h
    ON h.user_id = u.id
LEFT JOIN (SELECT user_id, count(*) AS total_bookmarks FROM bookmarks
           WHERE deleted_at IS NULL GROUP BY user_id) bm
    ON bm.user_id = u.id
LEFT JOIN (SELECT user_id,
                  count(*) AS total_sessions,
                  sum(duration_seconds) AS total_reading_time,
                  avg(reading_speed_wpm) AS average_reading_speed,
                  max(started_at) AS last_reading_session
           FROM reading_sessions GROUP BY user_id) rs
    ON rs.user_id = u.id
LEFT JOIN (SELECT user_id, count(*) AS quotes_shared FROM quote_shares GROUP BY user_id) qs
    ON qs.user_id = u.id;
CREATE UNIQUE INDEX index_user_reading_stats_on_user_id ON user_reading_stats (user_id);

CREATE MATERIALIZED VIEW book_popularity_stats AS
SELECT
    b.id AS book_id,
    b.title,
    b.author,
    b.genre,
    coalesce(h.unique_highlighters, 0) AS unique_highlighters,
    coalesce(h.total_highlights, 0) AS total_highlights,
    coalesce(qs.total_shares, 0) AS total_shares,
    coalesce(qs.average_engagement_rate, 0) AS average_engagement_rate,
    coalesce(rs.unique_readers, 0) AS unique_readers,
    coalesce(rp.average_completion_rate, 0) AS average_completion_rate
FROM books b
LEFT JOIN (SELECT book_id, count(DISTINCT user_id) AS unique_highlighters,
                  count(*) AS total_highlights
           FROM highlights WHERE deleted_at IS NULL GROUP BY book_id) h
    ON h.book_id = b.id
LEFT JOIN (SELECT book_id, count(*) AS total_shares,
                  avg(engagement_rate) AS average_engagement_rate
           FROM quote_shares GROUP BY book_id) qs
    ON qs.book_id = b.id
LEFT JOIN (SELECT book_id, count(DISTINCT user_id) AS unique_readers
           FROM reading_sessions GROUP BY book_id) rs
    ON rs.book_id = b.id
LEFT JOIN (SELECT book_id, avg(progress_percentage) AS average_completion_rate
           FROM reading_progress GROUP BY book_id) rp
    ON rp.book_id = b.id;
CREATE UNIQUE INDEX index_book_popularity_stats_on_book_id ON book_popularity_stats (book_id);

-- reading_sessions has no subscription_tier (the seed read it from there): take it from
-- users. Days are UTC days.
CREATE MATERIALIZED VIEW daily_platform_metrics AS
SELECT
    (rs.created_at AT TIME ZONE 'UTC')::date AS metric_date,
    count(DISTINCT rs.user_id) AS daily_active_users,
    count(DISTINCT rs.user_id) FILTER (WHERE u.subscription_tier <> 'free')
        AS premium_active_users,
    count(*) AS total_reading_sessions,
    coalesce(sum(rs.duration_seconds), 0) AS total_reading_time,
    count(DISTINCT rs.book_id) AS books_read
FROM reading_sessions rs
JOIN users u ON u.id = rs.user_id
WHERE rs.created_at >= CURRENT_DATE - INTERVAL '90 days'
GROUP BY 1;
CREATE UNIQUE INDEX index_daily_platform_metrics_on_metric_date
    ON daily_platform_metrics (metric_date);
