-- The reader's copy of their account (archive.py): each query one JSON file of the ZIP,
-- a row a JSON object (secrets and internal columns left out).

-- name: profile
SELECT (to_jsonb(u) - 'encrypted_password' - 'sync_password_hash' - 'current_sign_in_ip'
        - 'last_sign_in_ip' - 'stripe_customer_id' - 'is_admin')::text
FROM users u WHERE u.id = $1

-- name: books
-- their own books, and the ones of others they read or marked
SELECT (to_jsonb(b) - 'file_path')::text FROM books b
WHERE b.deleted_at IS NULL
  AND (b.user_id = $1
       OR EXISTS (SELECT 1 FROM reading_progress p WHERE p.book_id = b.id AND p.user_id = $1)
       OR EXISTS (SELECT 1 FROM highlights h WHERE h.book_id = b.id AND h.user_id = $1))
ORDER BY b.created_at, b.id

-- name: progress
SELECT to_jsonb(p)::text FROM reading_progress p WHERE p.user_id = $1 ORDER BY p.book_id

-- name: positions
SELECT to_jsonb(p)::text FROM reading_positions p WHERE p.user_id = $1
ORDER BY p.book_id, p.device

-- name: sessions
SELECT to_jsonb(s)::text FROM reading_sessions s WHERE s.user_id = $1 ORDER BY s.started_at

-- name: highlights
SELECT to_jsonb(h)::text FROM highlights h WHERE h.user_id = $1 AND h.deleted_at IS NULL
ORDER BY h.book_id, h.start_offset, h.created_at

-- name: bookmarks
SELECT to_jsonb(m)::text FROM bookmarks m WHERE m.user_id = $1 AND m.deleted_at IS NULL
ORDER BY m.book_id, m.page_number

-- name: annotations
SELECT to_jsonb(a)::text FROM annotations a WHERE a.user_id = $1 AND a.deleted_at IS NULL
ORDER BY a.book_id, a.created_at

-- name: conversations
SELECT to_jsonb(c)::text FROM ai_conversations c WHERE c.user_id = $1 ORDER BY c.created_at

-- name: shares
SELECT to_jsonb(q)::text FROM quote_shares q WHERE q.user_id = $1 ORDER BY q.created_at

-- name: collections
SELECT (to_jsonb(c) || jsonb_build_object('items', coalesce(
           (SELECT jsonb_agg(to_jsonb(i) ORDER BY i.position, i.created_at)
            FROM quote_collection_items i WHERE i.quote_collection_id = c.id), '[]')))::text
FROM quote_collections c WHERE c.user_id = $1 ORDER BY c.created_at

-- name: follows
SELECT jsonb_build_object('follower', f.follower_id, 'followee', f.followee_id,
                          'username', u.username, 'created_at', f.created_at)::text
FROM follows f JOIN users u ON u.id = CASE WHEN f.follower_id = $1 THEN f.followee_id
                                           ELSE f.follower_id END
WHERE f.follower_id = $1 OR f.followee_id = $1 ORDER BY f.created_at

-- name: own_files
SELECT id, file_type, original_filename FROM books
WHERE user_id = $1 AND deleted_at IS NULL AND file_type IS NOT NULL
ORDER BY created_at, id
