-- Seed tables 12-16: quote templates and shares, trending, collections.
CREATE TABLE quote_templates (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    category text,
    description text,
    preview_image_url text,
    design_config jsonb NOT NULL,
    customizable_options jsonb NOT NULL DEFAULT '{}',
    platform_optimizations jsonb NOT NULL DEFAULT '{}',
    is_premium boolean NOT NULL DEFAULT false,
    is_active boolean NOT NULL DEFAULT true,
    sort_order integer NOT NULL DEFAULT 0,
    usage_count integer NOT NULL DEFAULT 0,
    average_engagement_rate double precision,
    performance_by_platform jsonb NOT NULL DEFAULT '{}',
    experiment_group text,
    conversion_rate double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX index_quote_templates_on_name ON quote_templates (name);
CREATE INDEX index_quote_templates_on_category ON quote_templates (category);
CREATE INDEX index_quote_templates_on_is_premium ON quote_templates (is_premium);
CREATE INDEX index_quote_templates_on_is_active ON quote_templates (is_active);
CREATE INDEX index_quote_templates_on_usage_count ON quote_templates (usage_count);
CREATE INDEX index_quote_templates_on_average_engagement_rate
    ON quote_templates (average_engagement_rate);
CREATE INDEX index_quote_templates_on_sort_order ON quote_templates (sort_order);
CREATE TRIGGER quote_templates_updated_at BEFORE UPDATE ON quote_templates
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE quote_shares (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    highlight_id uuid NOT NULL REFERENCES highlights (id) ON DELETE CASCADE,
    -- a real foreign key (the seed kept a free string)
    template_id uuid NOT NULL REFERENCES quote_templates (id),
    quote_text text NOT NULL CHECK (char_length(quote_text) BETWEEN 10 AND 500),
    author_attribution text,
    book_attribution text,
    customizations jsonb NOT NULL DEFAULT '{}',
    card_image_url text,
    shareable_url text,
    share_message text,
    hashtags jsonb NOT NULL DEFAULT '[]',
    platforms_shared jsonb NOT NULL DEFAULT '[]',
    platform_post_ids jsonb NOT NULL DEFAULT '{}',
    scheduled_share boolean NOT NULL DEFAULT false,
    scheduled_at timestamptz,
    views_count integer NOT NULL DEFAULT 0,
    likes_count integer NOT NULL DEFAULT 0,
    shares_count integer NOT NULL DEFAULT 0,
    comments_count integer NOT NULL DEFAULT 0,
    saves_count integer NOT NULL DEFAULT 0,
    click_throughs integer NOT NULL DEFAULT 0,
    app_installs_attributed integer NOT NULL DEFAULT 0,
    viral_coefficient double precision,
    referral_code text NOT NULL,
    engagement_rate double precision,
    reach_count integer,
    peak_engagement_at timestamptz,
    demographics_data jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_quote_shares_on_user_id ON quote_shares (user_id);
CREATE INDEX index_quote_shares_on_book_id ON quote_shares (book_id);
CREATE INDEX index_quote_shares_on_highlight_id ON quote_shares (highlight_id);
CREATE INDEX index_quote_shares_on_template_id ON quote_shares (template_id);
CREATE INDEX index_quote_shares_on_platforms_shared ON quote_shares USING gin (platforms_shared);
CREATE INDEX index_quote_shares_on_views_count ON quote_shares (views_count);
CREATE INDEX index_quote_shares_on_engagement_rate ON quote_shares (engagement_rate);
CREATE INDEX index_quote_shares_on_viral_coefficient ON quote_shares (viral_coefficient);
CREATE UNIQUE INDEX index_quote_shares_on_referral_code ON quote_shares (referral_code);
CREATE INDEX index_quote_shares_on_created_at ON quote_shares (created_at);
CREATE INDEX index_quote_shares_on_user_id_and_created_at ON quote_shares (user_id, created_at);
CREATE INDEX index_quote_shares_on_engagement_rate_and_created_at
    ON quote_shares (engagement_rate, created_at);
CREATE INDEX index_quote_shares_on_viral_coefficient_and_created_at
    ON quote_shares (viral_coefficient, created_at);
CREATE INDEX index_quote_shares_on_book_id_and_created_at ON quote_shares (book_id, created_at);
CREATE TRIGGER quote_shares_updated_at BEFORE UPDATE ON quote_shares
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE trending_quotes (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    quote_share_id uuid NOT NULL REFERENCES quote_shares (id) ON DELETE CASCADE,
    timeframe text CHECK (timeframe IN ('hourly', 'daily', 'weekly')),
    rank_position integer,
    trending_score double precision,
    total_engagement integer,
    trending_period_start timestamptz,
    trending_period_end timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_trending_quotes_on_quote_share_id ON trending_quotes (quote_share_id);
CREATE INDEX index_trending_quotes_on_timeframe_and_rank_position
    ON trending_quotes (timeframe, rank_position);
CREATE INDEX index_trending_quotes_on_trending_score ON trending_quotes (trending_score);
CREATE INDEX index_trending_quotes_on_trending_period_start
    ON trending_quotes (trending_period_start);
CREATE TRIGGER trending_quotes_updated_at BEFORE UPDATE ON trending_quotes
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE quote_collections (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- null for system collections
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    title text NOT NULL,
    description text,
    collection_type text
        CHECK (collection_type IN ('user_created', 'ai_curated', 'trending', 'featured')),
    theme text,
    public boolean NOT NULL DEFAULT false,
    cover_image_url text,
    followers_count integer NOT NULL DEFAULT 0,
    quotes_count integer NOT NULL DEFAULT 0,
    average_rating double precision,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_quote_collections_on_user_id ON quote_collections (user_id);
CREATE INDEX index_quote_collections_on_collection_type ON quote_collections (collection_type);
CREATE INDEX index_quote_collections_on_theme ON quote_collections (theme);
CREATE INDEX index_quote_collections_on_public ON quote_collections (public);
CREATE INDEX index_quote_collections_on_followers_count ON quote_collections (followers_count);
CREATE TRIGGER quote_collections_updated_at BEFORE UPDATE ON quote_collections
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE quote_collection_items (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    quote_collection_id uuid NOT NULL REFERENCES quote_collections (id) ON DELETE CASCADE,
    quote_share_id uuid NOT NULL REFERENCES quote_shares (id) ON DELETE CASCADE,
    position integer,
    curator_note text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_quote_collection_items_on_quote_collection_id_and_position
    ON quote_collection_items (quote_collection_id, position);
CREATE INDEX index_quote_collection_items_on_quote_share_id
    ON quote_collection_items (quote_share_id);
CREATE UNIQUE INDEX index_quote_collections_shares_unique
    ON quote_collection_items (quote_collection_id, quote_share_id);
CREATE TRIGGER quote_collection_items_updated_at BEFORE UPDATE ON quote_collection_items
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
