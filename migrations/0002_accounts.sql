-- Seed tables 1-2: users and follows, plus refresh tokens and login throttling.
CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- authentication (Devise)
    email text NOT NULL DEFAULT '',
    encrypted_password text NOT NULL DEFAULT '',
    first_name text,
    last_name text,
    username text NOT NULL,
    bio text,
    avatar_url text,
    -- subscription
    subscription_tier text NOT NULL DEFAULT 'free'
        CHECK (subscription_tier IN ('free', 'pro', 'premium')),
    subscription_expires_at timestamptz,
    stripe_customer_id text,
    -- preferences
    reading_preferences jsonb NOT NULL DEFAULT '{}',
    ai_preferences jsonb NOT NULL DEFAULT '{}',
    notification_preferences jsonb NOT NULL DEFAULT '{}',
    -- social
    followers_count integer NOT NULL DEFAULT 0 CHECK (followers_count >= 0),
    following_count integer NOT NULL DEFAULT 0 CHECK (following_count >= 0),
    quotes_shared_count integer NOT NULL DEFAULT 0,
    public_profile boolean NOT NULL DEFAULT true,
    -- tracking
    last_active_at timestamptz,
    time_zone text NOT NULL DEFAULT 'UTC',
    onboarding_completed jsonb NOT NULL DEFAULT '{}',
    -- Devise trackable
    sign_in_count integer NOT NULL DEFAULT 0,
    current_sign_in_at timestamptz,
    last_sign_in_at timestamptz,
    current_sign_in_ip inet,
    last_sign_in_ip inet,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- added: who may read /admin/health
    is_admin boolean NOT NULL DEFAULT false
);
-- unique case-insensitively (PROTOCOL.md §2), under the seed's index names
CREATE UNIQUE INDEX index_users_on_email ON users (lower(email));
CREATE UNIQUE INDEX index_users_on_username ON users (lower(username));
CREATE INDEX index_users_on_subscription_tier ON users (subscription_tier);
CREATE INDEX index_users_on_subscription_expires_at ON users (subscription_expires_at);
CREATE INDEX index_users_on_reading_preferences ON users USING gin (reading_preferences);
CREATE INDEX index_users_on_last_active_at ON users (last_active_at);
CREATE INDEX index_users_on_subscription_tier_and_last_active_at
    ON users (subscription_tier, last_active_at);
CREATE INDEX index_users_on_created_at_and_subscription_tier
    ON users (created_at, subscription_tier);
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE TABLE follows (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    follower_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    followee_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (follower_id <> followee_id)
);
CREATE UNIQUE INDEX index_follows_on_follower_id_and_followee_id
    ON follows (follower_id, followee_id);
CREATE INDEX index_follows_on_followee_id ON follows (followee_id);
CREATE TRIGGER follows_updated_at BEFORE UPDATE ON follows
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- Refresh tokens are stored hashed; a family is one login's chain of rotations, so a
-- reused (already rotated) token can revoke the whole chain.
CREATE TABLE refresh_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family_id uuid NOT NULL,
    token_hash bytea NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    replaced_by uuid,
    user_agent text,
    ip inet,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX index_refresh_tokens_on_token_hash ON refresh_tokens (token_hash);
CREATE INDEX index_refresh_tokens_on_user_id ON refresh_tokens (user_id);
CREATE INDEX index_refresh_tokens_on_family_id ON refresh_tokens (family_id);
CREATE INDEX index_refresh_tokens_on_expires_at ON refresh_tokens (expires_at);

-- Failed logins per login name and per client address, shared by every web process.
CREATE TABLE login_throttles (
    key text PRIMARY KEY,
    failures integer NOT NULL DEFAULT 0,
    window_started_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz
);
