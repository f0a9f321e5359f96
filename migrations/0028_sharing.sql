-- Sharing and collections managed by their readers.

-- A quote card its reader removed: the row and its files are gone, and only its code
-- is kept, so its public page says it was removed (410) instead of never existing.
CREATE TABLE removed_quote_codes (
    referral_code text PRIMARY KEY,
    removed_at timestamptz NOT NULL DEFAULT now()
);

-- Readers following a public collection; followers_count is theirs.
CREATE TABLE quote_collection_follows (
    quote_collection_id uuid NOT NULL REFERENCES quote_collections (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (quote_collection_id, user_id)
);
CREATE INDEX index_quote_collection_follows_on_user_id ON quote_collection_follows (user_id);

-- viral_coefficient as the seed defines it: sign-ups per click-through, uncapped (it was
-- held at 1 or below)
UPDATE quote_shares SET viral_coefficient = CASE WHEN click_throughs > 0
    THEN round(app_installs_attributed::numeric / click_throughs, 4) END;

-- GET /collections/public?theme=
CREATE INDEX index_quote_collections_on_public_and_created_at
    ON quote_collections (created_at, id) WHERE public;
