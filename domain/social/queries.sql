-- name: target_user
SELECT id, public_profile FROM users WHERE lower(username) = lower($1) AND deleted_at IS NULL

-- name: insert_follow
INSERT INTO follows (follower_id, followee_id) VALUES ($1, $2)
ON CONFLICT (follower_id, followee_id) DO NOTHING
RETURNING id

-- name: delete_follow
DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2 RETURNING id

-- name: count_follow
-- Both counters in one statement, in the follow's own transaction: the unique index lets
-- one of two racing follows insert, so only that one counts.
UPDATE users SET
    following_count = following_count + CASE WHEN id = $1 THEN $3 ELSE 0 END,
    followers_count = followers_count + CASE WHEN id = $2 THEN $3 ELSE 0 END
WHERE id IN ($1, $2)

-- name: public_user
SELECT {public_user_columns} FROM users WHERE id = $1 AND deleted_at IS NULL

-- name: feed_author
-- The author of a live feed item ($1) on a book ($2), when someone may hear it: the book
-- is public (its owner alone may read a private one, and nobody follows themselves) and
-- the author has followers (`followers_count` moves in the follow's own transaction).
SELECT {public_user_columns_u} FROM users u
WHERE u.id = $1 AND u.deleted_at IS NULL AND u.followers_count > 0
  AND EXISTS (SELECT 1 FROM books b
              WHERE b.id = $2 AND b.visibility = 'public' AND b.deleted_at IS NULL)

-- name: followers
SELECT {public_user_columns_u}, f.created_at AS followed_at, f.id AS follow_id
FROM follows f JOIN users u ON u.id = f.follower_id
WHERE f.followee_id = $1
  -- a private profile shows in nobody's list but its own
  AND (u.public_profile OR u.id = $5) AND u.deleted_at IS NULL
  AND ($2::timestamptz IS NULL OR (f.created_at, f.id) < ($2, $3::uuid))
ORDER BY f.created_at DESC, f.id DESC
LIMIT $4

-- name: following
SELECT {public_user_columns_u}, f.created_at AS followed_at, f.id AS follow_id
FROM follows f JOIN users u ON u.id = f.followee_id
WHERE f.follower_id = $1
  -- a private profile shows in nobody's list but its own
  AND (u.public_profile OR u.id = $5) AND u.deleted_at IS NULL
  AND ($2::timestamptz IS NULL OR (f.created_at, f.id) < ($2, $3::uuid))
ORDER BY f.created_at DESC, f.id DESC
LIMIT $4

-- name: is_following
SELECT EXISTS (SELECT 1 FROM follows WHERE follower_id = $1 AND followee_id = $2)

-- name: followee_ids
SELECT followee_id FROM follows WHERE follower_id = $1

-- name: feed
-- Public highlights and quote shares of the people followed, newest first, on books the
-- reader may read (a public highlight on a private book is its owner's alone). Each side
-- is limited before the union, so a page reads at most 2 x limit rows per side.
WITH followed AS (SELECT f.followee_id FROM follows f JOIN users u ON u.id = f.followee_id
                  WHERE f.follower_id = $1 AND u.deleted_at IS NULL),
items AS (
    (SELECT 'highlight' AS kind, h.id, h.created_at, h.user_id,
            (SELECT to_jsonb(x) FROM (SELECT {highlight_columns_h}) x) AS item
     FROM highlights h JOIN books b ON b.id = h.book_id
     WHERE h.user_id IN (SELECT followee_id FROM followed) AND h.public
       AND h.deleted_at IS NULL AND b.deleted_at IS NULL
       AND (b.visibility = 'public' OR b.user_id = $1)
       AND ($2::timestamptz IS NULL OR (h.created_at, h.id) < ($2, $3::uuid))
     ORDER BY h.created_at DESC, h.id DESC
     LIMIT $4)
    UNION ALL
    (SELECT 'quote_share', q.id, q.created_at, q.user_id,
            to_jsonb(q) - 'platform_post_ids' - 'demographics_data'
     FROM quote_shares q JOIN books b ON b.id = q.book_id
     WHERE q.user_id IN (SELECT followee_id FROM followed)
       AND (b.visibility = 'public' OR b.user_id = $1)
       AND ($2::timestamptz IS NULL OR (q.created_at, q.id) < ($2, $3::uuid))
     ORDER BY q.created_at DESC, q.id DESC
     LIMIT $4)
)
SELECT i.kind, i.id, i.created_at, i.item,
       (SELECT to_jsonb(a) FROM (SELECT {public_user_columns_u} FROM users u
                                 WHERE u.id = i.user_id) a) AS author
FROM items i
ORDER BY i.created_at DESC, i.id DESC
LIMIT $4

-- name: highlight_to_share
SELECT h.id, h.user_id, h.book_id, h.selected_text, h.public, b.title, b.author,
       (b.visibility = 'public' OR b.user_id = $2) AND b.deleted_at IS NULL AS book_readable,
       (SELECT effective_tier(subscription_tier, subscription_expires_at)
        FROM users WHERE id = $2) AS tier,
       (SELECT confirmed_at IS NOT NULL FROM users WHERE id = $2) AS confirmed
FROM highlights h JOIN books b ON b.id = h.book_id
WHERE h.id = $1 AND h.deleted_at IS NULL

-- name: active_template
SELECT {template_columns} FROM quote_templates WHERE id = $1 AND is_active

-- name: templates
SELECT {template_columns} FROM quote_templates WHERE is_active ORDER BY sort_order, name

-- name: insert_share
INSERT INTO quote_shares (id, user_id, book_id, highlight_id, template_id, quote_text,
    author_attribution, book_attribution, customizations, card_image_url, shareable_url,
    share_message, hashtags, platforms_shared, referral_code)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
RETURNING {share_columns}

-- name: count_share
WITH u AS (UPDATE users SET quotes_shared_count = quotes_shared_count + 1 WHERE id = $1)
UPDATE highlights SET shares_count = shares_count + 1 WHERE id = $2

-- name: get_share
SELECT {share_columns} FROM quote_shares WHERE id = $1

-- name: share_by_code
SELECT {share_columns} FROM quote_shares WHERE referral_code = $1

-- name: viewed_by_code
-- the public page was seen: one more view, once a day per visitor ($2)
WITH share AS (SELECT id FROM quote_shares WHERE referral_code = $1),
mark AS (
    INSERT INTO quote_engagement_marks (quote_share_id, visitor, kind, day)
    SELECT id, $2, 'view', (now() AT TIME ZONE 'UTC')::date FROM share
    ON CONFLICT DO NOTHING RETURNING 1
), n AS (SELECT count(*)::int AS n FROM mark)
UPDATE quote_shares SET views_count = views_count + n.n,
    engagement_rate = round((likes_count + shares_count + comments_count + saves_count)::numeric
                            * 100 / greatest(views_count + n.n, 1), 2)
FROM n
WHERE referral_code = $1
RETURNING {share_columns}

-- name: engage
-- One engagement, counted only the first time for this visitor ($3): a like or a save
-- once ever, any other kind once a UTC day. The rate is the seed's:
-- (likes + shares + comments + saves) / views x 100.
WITH mark AS (
    INSERT INTO quote_engagement_marks (quote_share_id, visitor, kind, day)
    SELECT $1, $3, $2, CASE WHEN $2 IN ('like', 'save') THEN DATE '2000-01-01'
                            ELSE (now() AT TIME ZONE 'UTC')::date END
    WHERE EXISTS (SELECT 1 FROM quote_shares WHERE id = $1)
    ON CONFLICT DO NOTHING RETURNING 1
), n AS (SELECT count(*)::int AS n FROM mark)
UPDATE quote_shares SET
    views_count = views_count + ($2 = 'view')::int * n.n,
    likes_count = likes_count + ($2 = 'like')::int * n.n,
    saves_count = saves_count + ($2 = 'save')::int * n.n,
    shares_count = shares_count + ($2 = 'share')::int * n.n,
    comments_count = comments_count + ($2 = 'comment')::int * n.n,
    click_throughs = click_throughs + ($2 = 'click')::int * n.n,
    viral_coefficient = CASE WHEN click_throughs + ($2 = 'click')::int * n.n > 0 THEN
        round(app_installs_attributed::numeric
              / (click_throughs + ($2 = 'click')::int * n.n), 4) END,
    engagement_rate = CASE WHEN views_count + ($2 = 'view')::int * n.n > 0 THEN round(
        (likes_count + shares_count + comments_count + saves_count
         + ($2 IN ('like', 'share', 'comment', 'save'))::int * n.n)::numeric * 100
        / (views_count + ($2 = 'view')::int * n.n), 2) END,
    peak_engagement_at = CASE WHEN n.n > 0 THEN now() ELSE peak_engagement_at END
FROM n
WHERE id = $1
RETURNING {share_columns}

-- name: disengage
-- A like or save taken back (only the visitor's own, once).
WITH gone AS (
    DELETE FROM quote_engagement_marks
    WHERE quote_share_id = $1 AND kind = $2 AND visitor = $3 RETURNING 1
), n AS (SELECT count(*)::int AS n FROM gone)
UPDATE quote_shares SET
    likes_count = likes_count - ($2 = 'like')::int * n.n,
    saves_count = saves_count - ($2 = 'save')::int * n.n,
    engagement_rate = CASE WHEN views_count > 0 THEN round(
        (likes_count + shares_count + comments_count + saves_count - n.n)::numeric * 100
        / views_count, 2) END
FROM n
WHERE id = $1
RETURNING {share_columns}

-- name: rank_shares
-- Time-decayed engagement: engagement / (age in hours + 2) ^ gravity, over the shares
-- made within the window. Engagement weighs a share twice (it spreads the quote) and a
-- view a tenth (it is only a look).
SELECT q.id AS quote_share_id,
       (q.likes_count + q.comments_count + q.saves_count + 2 * q.shares_count
        + q.click_throughs + q.views_count / 10.0)::float8 AS engagement,
       (q.likes_count + q.comments_count + q.saves_count + 2 * q.shares_count
        + q.click_throughs + q.views_count / 10.0)
       / power(extract(epoch FROM now() - q.created_at) / 3600.0 + 2, $2)::float8 AS score
FROM quote_shares q
WHERE q.created_at > now() - $1::interval
  AND (q.likes_count + q.comments_count + q.saves_count + q.shares_count + q.click_throughs
       + q.views_count) > 0
ORDER BY score DESC, q.created_at DESC
LIMIT $3

-- name: current_ranking
SELECT quote_share_id FROM trending_quotes WHERE timeframe = $1 ORDER BY rank_position

-- name: clear_ranking
DELETE FROM trending_quotes WHERE timeframe = $1

-- name: store_ranking
INSERT INTO trending_quotes (quote_share_id, timeframe, rank_position, trending_score,
                             total_engagement, trending_period_start, trending_period_end)
SELECT id, $1, rank, score, round(engagement), now() - $2::interval, now()
FROM unnest($3::uuid[], $4::float8[], $5::float8[]) WITH ORDINALITY AS t(id, score, engagement, rank)

-- name: trending
SELECT t.rank_position AS rank, t.trending_score AS score, t.total_engagement,
       (SELECT to_jsonb(x) FROM (SELECT {share_columns_q}) x) AS quote
FROM trending_quotes t JOIN quote_shares q ON q.id = t.quote_share_id
WHERE t.timeframe = $1
ORDER BY t.rank_position

-- name: template_metrics
-- The seed's update_performance_metrics for every template at once: usage, average
-- engagement rate, and per platform usage and average engagement.
UPDATE quote_templates t SET
    usage_count = coalesce(s.usage, 0),
    average_engagement_rate = s.average,
    performance_by_platform = coalesce(p.by_platform, '{}')
FROM quote_templates t2
LEFT JOIN (SELECT template_id, count(*) AS usage, avg(engagement_rate) AS average
           FROM quote_shares GROUP BY template_id) s ON s.template_id = t2.id
LEFT JOIN (SELECT template_id, jsonb_object_agg(platform, jsonb_build_object(
               'usage', n, 'avg_engagement', coalesce(avg_rate, 0))) AS by_platform
           FROM (SELECT template_id, platform, count(*) AS n, avg(engagement_rate) AS avg_rate
                 FROM quote_shares, jsonb_array_elements_text(platforms_shared) AS platform
                 GROUP BY template_id, platform) per
           GROUP BY template_id) p ON p.template_id = t2.id
WHERE t.id = t2.id

-- name: insert_collection
INSERT INTO quote_collections (user_id, title, description, theme, public, collection_type)
VALUES ($1, $2, $3, $4, $5, 'user_created')
RETURNING {collection_columns}

-- name: collection
SELECT {collection_columns} FROM quote_collections WHERE id = $1

-- name: my_collections
SELECT {collection_columns} FROM quote_collections
WHERE user_id = $1
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $4

-- name: collection_for_update
SELECT user_id, public FROM quote_collections WHERE id = $1 FOR UPDATE

-- name: collection_items
SELECT i.quote_share_id, i.position, i.curator_note, i.created_at AS added_at,
       (SELECT to_jsonb(x) FROM (SELECT {share_columns_q}) x) AS quote
FROM quote_collection_items i JOIN quote_shares q ON q.id = i.quote_share_id
WHERE i.quote_collection_id = $1
ORDER BY i.position, i.created_at

-- name: make_room
-- an item placed at a position pushes the ones at or after it down by one
UPDATE quote_collection_items SET position = position + 1
WHERE quote_collection_id = $1 AND position >= $2

-- name: insert_item
INSERT INTO quote_collection_items (quote_collection_id, quote_share_id, position, curator_note)
VALUES ($1, $2, coalesce($3, (SELECT coalesce(max(position), 0) + 1 FROM quote_collection_items
                              WHERE quote_collection_id = $1)), $4)
RETURNING quote_share_id, position, curator_note, created_at AS added_at

-- name: delete_item
DELETE FROM quote_collection_items WHERE quote_collection_id = $1 AND quote_share_id = $2
RETURNING position

-- name: close_gap
UPDATE quote_collection_items SET position = position - 1
WHERE quote_collection_id = $1 AND position > $2

-- name: count_items
UPDATE quote_collections SET quotes_count = quotes_count + $2 WHERE id = $1

-- name: share_json
SELECT (SELECT to_jsonb(x) FROM (SELECT {share_columns_q}) x) AS quote
FROM quote_shares q WHERE q.id = $1

-- name: my_shares
SELECT {share_columns} FROM quote_shares
WHERE user_id = $1 AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3))
ORDER BY created_at DESC, id DESC
LIMIT $4

-- name: remove_share
-- The reader's own share goes: out of every collection (the gaps closed, the counts
-- kept), its highlight's and its reader's counts back, its code kept as removed.
WITH share AS (
    DELETE FROM quote_shares WHERE id = $1 AND user_id = $2
    RETURNING id, highlight_id, referral_code
), items AS (
    DELETE FROM quote_collection_items i USING share s WHERE i.quote_share_id = s.id
    RETURNING i.quote_collection_id, i.position
), shifted AS (
    UPDATE quote_collection_items i SET position = i.position - 1
    FROM items g WHERE i.quote_collection_id = g.quote_collection_id AND i.position > g.position
), counted AS (
    UPDATE quote_collections c SET quotes_count = c.quotes_count - 1
    FROM items g WHERE c.id = g.quote_collection_id
), highlight AS (
    UPDATE highlights h SET shares_count = greatest(h.shares_count - 1, 0)
    FROM share s WHERE h.id = s.highlight_id
), reader AS (
    UPDATE users SET quotes_shared_count = greatest(quotes_shared_count - 1, 0)
    WHERE id = $2 AND EXISTS (SELECT 1 FROM share)
), code AS (
    INSERT INTO removed_quote_codes (referral_code) SELECT referral_code FROM share
    ON CONFLICT DO NOTHING
)
SELECT id FROM share

-- name: share_owner
SELECT user_id FROM quote_shares WHERE id = $1

-- name: removed_code
SELECT removed_at FROM removed_quote_codes WHERE referral_code = $1

-- name: update_collection
-- $2 title (null keeps), $3/$4 description given/value, $5/$6 theme, $7 public,
-- $8/$9 cover given / the card of a share in it (null clears)
UPDATE quote_collections
SET title = coalesce($2, title),
    description = CASE WHEN $3 THEN $4 ELSE description END,
    theme = CASE WHEN $5 THEN $6 ELSE theme END,
    public = coalesce($7, public),
    cover_image_url = CASE WHEN $8 THEN $9 ELSE cover_image_url END
WHERE id = $1
RETURNING {collection_columns}

-- name: item_card
-- the card of a share in the collection (a cover comes only from its own items)
SELECT q.card_image_url FROM quote_collection_items i
JOIN quote_shares q ON q.id = i.quote_share_id
WHERE i.quote_collection_id = $1 AND i.quote_share_id = $2

-- name: delete_collection
DELETE FROM quote_collections WHERE id = $1

-- name: item_for_update
SELECT position FROM quote_collection_items
WHERE quote_collection_id = $1 AND quote_share_id = $2 FOR UPDATE

-- name: items_count
SELECT count(*) FROM quote_collection_items WHERE quote_collection_id = $1

-- name: move_item
-- the item from position $3 to $4, the ones between shifted by one to make room
WITH shifted AS (
    UPDATE quote_collection_items
    SET position = position + CASE WHEN $4::integer < $3::integer THEN 1 ELSE -1 END
    WHERE quote_collection_id = $1 AND quote_share_id <> $2
      AND position BETWEEN least($3::integer, $4::integer) AND greatest($3::integer, $4::integer)
)
UPDATE quote_collection_items SET position = $4::integer
WHERE quote_collection_id = $1 AND quote_share_id = $2

-- name: update_item
UPDATE quote_collection_items
SET curator_note = CASE WHEN $3 THEN $4 ELSE curator_note END
WHERE quote_collection_id = $1 AND quote_share_id = $2
RETURNING quote_share_id, position, curator_note, created_at AS added_at

-- name: public_collections
SELECT {collection_columns} FROM quote_collections
WHERE public AND ($1::text IS NULL OR lower(theme) = lower($1))
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $4

-- name: followed_collections
SELECT {collection_columns} FROM quote_collections c
WHERE EXISTS (SELECT 1 FROM quote_collection_follows f
              WHERE f.quote_collection_id = c.id AND f.user_id = $1)
  AND (c.public OR c.user_id = $1)
  AND ($2::timestamptz IS NULL OR (created_at, id) < ($2, $3::uuid))
ORDER BY created_at DESC, id DESC
LIMIT $4

-- name: follow_collection
-- insert-or-nothing, the count moved only when a row was made
WITH made AS (
    INSERT INTO quote_collection_follows (quote_collection_id, user_id) VALUES ($1, $2)
    ON CONFLICT DO NOTHING RETURNING 1
)
UPDATE quote_collections SET followers_count = followers_count + (SELECT count(*) FROM made)
WHERE id = $1
RETURNING {collection_columns}

-- name: unfollow_collection
WITH gone AS (
    DELETE FROM quote_collection_follows WHERE quote_collection_id = $1 AND user_id = $2
    RETURNING 1
)
UPDATE quote_collections SET followers_count = followers_count - (SELECT count(*) FROM gone)
WHERE id = $1
