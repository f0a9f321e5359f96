-- name: take_ask
-- One ask off today's quota, or no row when the tier's limit is reached. The row lock of
-- the upsert orders parallel asks: exactly one can take the last one.
INSERT INTO ai_daily_usage AS u (user_id, day, asks)
VALUES ($1, (now() AT TIME ZONE 'UTC')::date, 1)
ON CONFLICT (user_id, day) DO UPDATE SET asks = u.asks + 1
WHERE u.asks < $2
RETURNING asks

-- name: asks_today
SELECT ai_asks_today($1)

-- name: give_back_ask
UPDATE ai_daily_usage SET asks = asks - 1
WHERE user_id = $1 AND day = (now() AT TIME ZONE 'UTC')::date AND asks > 0

-- name: tier
SELECT effective_tier(subscription_tier, subscription_expires_at) FROM users WHERE id = $1

-- name: spoiler_limit
-- How far the reader may be told about: the furthest position reached, else (nothing
-- read yet) the end of the first chapter.
SELECT coalesce(
    (SELECT furthest_character_offset FROM reading_progress
     WHERE user_id = $1 AND book_id = $2 AND furthest_character_offset IS NOT NULL),
    (SELECT end_offset FROM book_chapters WHERE book_id = $2 ORDER BY chapter_number LIMIT 1),
    0)

-- name: chapter_of_book
SELECT id, chapter_number, title, start_offset, end_offset, left(content, $3) AS content
FROM book_chapters WHERE id = $1 AND book_id = $2

-- name: earlier_turn
SELECT question, answer, conversation_history FROM ai_conversations
WHERE id = $1 AND user_id = $2 AND book_id = $3

-- name: own_highlight
SELECT id, selected_text, start_offset, end_offset, note FROM highlights
WHERE id = $1 AND user_id = $2 AND book_id = $3 AND deleted_at IS NULL

-- name: insert_conversation
INSERT INTO ai_conversations (id, user_id, book_id, book_chapter_id, question, answer,
    context_used, attached_text, ai_provider, model_used, response_time_ms, tokens_used,
    cost_usd, sources_referenced, conversation_history, search_query_used, feature_used,
    trigger_type, session_metadata, status, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
        'manual', $18, $19, $20)
RETURNING {conversation_columns}

-- name: store_explanation
UPDATE highlights SET ai_explanation = $3 WHERE id = $1 AND user_id = $2

-- name: list_conversations
SELECT {conversation_columns} FROM ai_conversations
WHERE user_id = $1 AND book_id = $2
  AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $5

-- name: get_conversation
SELECT {conversation_columns} FROM ai_conversations WHERE id = $1 AND user_id = $2

-- name: patch_conversation
UPDATE ai_conversations
SET user_rating = CASE WHEN $3 THEN $4 ELSE user_rating END,
    user_feedback = CASE WHEN $5 THEN $6 ELSE user_feedback END,
    marked_helpful = CASE WHEN $7 THEN $8 ELSE marked_helpful END
WHERE id = $1 AND user_id = $2
RETURNING {conversation_columns}

-- name: response_length
-- the reader's ai_preferences.response_length (brief | detailed), detailed by default
SELECT coalesce(ai_preferences->>'response_length', 'detailed') FROM users WHERE id = $1
