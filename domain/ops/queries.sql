-- name: is_admin
SELECT is_admin FROM users WHERE id = $1

-- name: has_pg_stat_statements
SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements')

-- name: slowest_statements
SELECT left(query, 300) AS query, calls, round(mean_exec_time::numeric, 2)::float8 AS mean_ms,
       round(total_exec_time::numeric, 1)::float8 AS total_ms, rows
FROM pg_stat_statements
ORDER BY mean_exec_time DESC
LIMIT 10

-- name: table_sizes
SELECT c.relname AS table, pg_total_relation_size(c.oid) AS total_bytes,
       pg_relation_size(c.oid) AS table_bytes, pg_indexes_size(c.oid) AS index_bytes,
       coalesce(s.n_live_tup, 0) AS live_rows, coalesce(s.n_dead_tup, 0) AS dead_rows
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
WHERE c.relkind IN ('r', 'm')
ORDER BY pg_total_relation_size(c.oid) DESC
LIMIT 30

-- name: index_usage
SELECT s.relname AS table, s.indexrelname AS index, s.idx_scan AS scans,
       pg_relation_size(s.indexrelid) AS bytes
FROM pg_stat_user_indexes s
ORDER BY s.idx_scan ASC, pg_relation_size(s.indexrelid) DESC
LIMIT 30

-- name: view_freshness
-- Materialized views keep no refresh time of their own: the scheduler's record says.
SELECT max(finished_at) AS refreshed_at,
       extract(epoch FROM now() - max(finished_at))::float8 AS age_s
FROM scheduled_runs WHERE job = 'refresh_views' AND finished_at IS NOT NULL

-- name: connections
SELECT count(*) AS total, count(*) FILTER (WHERE state = 'active') AS active,
       (SELECT setting::int FROM pg_settings WHERE name = 'max_connections') AS max
FROM pg_stat_activity WHERE datname = current_database()
