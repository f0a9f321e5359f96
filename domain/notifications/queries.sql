-- name: notify
-- A notification for $1 when their preference $2 (a notification_preferences key,
-- default on) lets it through, once per dedupe key $7; no row otherwise.
INSERT INTO notifications (user_id, kind, title, body, data, dedupe_key)
SELECT u.id, $3, $4, $5, $6, $7 FROM users u
WHERE u.id = $1 AND u.deleted_at IS NULL
  AND coalesce((u.notification_preferences->>$2)::boolean, true)
ON CONFLICT (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING
RETURNING {notification_columns}

-- name: mine
SELECT {notification_columns} FROM notifications
WHERE user_id = $1 AND (NOT $2 OR read_at IS NULL)
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4))
ORDER BY created_at DESC, id DESC
LIMIT $5

-- name: mark_read
-- the given ones ($2), or every one up to now when none are given
UPDATE notifications SET read_at = now()
WHERE user_id = $1 AND read_at IS NULL AND ($2::uuid[] IS NULL OR id = ANY($2))

-- name: unread_count
SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL

-- name: wants_suggestions
-- readers who let the AI suggest (ai_preferences.auto_suggestions, default on)
SELECT id FROM users
WHERE id = ANY($1) AND coalesce((ai_preferences->>'auto_suggestions')::boolean, true)

-- name: due_reminders
-- Readers whose reminder hour ($1 is now) has come in their time zone, with a book in
-- progress they read in the last 30 days but not yet today (their day): the book they
-- read last.
SELECT DISTINCT ON (u.id) u.id AS user_id, b.id AS book_id, b.title, p.current_page,
       (now() AT TIME ZONE u.time_zone)::date AS local_day
FROM users u
JOIN reading_progress p ON p.user_id = u.id AND NOT p.completed
JOIN books b ON b.id = p.book_id AND b.deleted_at IS NULL
                AND (b.user_id = u.id OR b.visibility = 'public')
WHERE u.deleted_at IS NULL
  AND coalesce((u.notification_preferences->>'reading_reminders')::boolean, true)
  AND extract(hour FROM $1::timestamptz AT TIME ZONE u.time_zone)
      = coalesce((u.notification_preferences->>'reminder_hour')::integer, 19)
  AND p.last_read_at > $1::timestamptz - interval '30 days'
  AND NOT EXISTS (SELECT 1 FROM reading_progress t WHERE t.user_id = u.id
                  AND (t.last_read_at AT TIME ZONE u.time_zone)::date
                      = ($1::timestamptz AT TIME ZONE u.time_zone)::date)
ORDER BY u.id, p.last_read_at DESC
