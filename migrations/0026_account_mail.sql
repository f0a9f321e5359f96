-- Mail that proves a reader holds an address: password reset and email confirmation.
-- Accounts made before confirmation existed count as confirmed (they cannot be asked to
-- confirm retroactively without locking them out of what they already did).
ALTER TABLE users ADD COLUMN confirmed_at timestamptz;
UPDATE users SET confirmed_at = created_at;

-- Single-use tokens sent by mail, stored hashed. `email` is the address it was sent to:
-- a confirmation confirms that address only (a reader who changed it since must confirm
-- the new one).
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('password_reset', 'email_confirmation')),
    email text NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_account_tokens_on_user_id_and_purpose
    ON account_tokens (user_id, purpose, created_at);

-- last_active_at is written every minute for every active reader: that is activity,
-- not a change to the account, so it leaves updated_at alone.
CREATE FUNCTION set_users_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (to_jsonb(NEW) - 'last_active_at' - 'updated_at')
       IS DISTINCT FROM (to_jsonb(OLD) - 'last_active_at' - 'updated_at') THEN
        NEW.updated_at := now();
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER users_updated_at ON users;
CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_users_updated_at();

-- The tier a reader has now: a paid tier past its expiry is free. One rule for every
-- query that reads a tier (quotas, premium templates, the account).
CREATE FUNCTION effective_tier(tier text, expires_at timestamptz) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN tier <> 'free' AND expires_at < now() THEN 'free' ELSE tier END
$$;

-- AI questions asked today (UTC day), for the account's remaining count.
CREATE FUNCTION ai_asks_today(reader uuid) RETURNS integer
LANGUAGE sql STABLE AS $$
    SELECT coalesce((SELECT asks FROM ai_daily_usage
                     WHERE user_id = reader AND day = (now() AT TIME ZONE 'UTC')::date), 0)
$$;

-- Billing webhooks are delivered at least once and in any order: each event id is
-- applied once, and an event older than one already applied to the account changes
-- nothing (`created` is the provider's time of the event).
CREATE TABLE billing_events (
    id text PRIMARY KEY,
    type text NOT NULL,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    created timestamptz NOT NULL,
    applied boolean NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_billing_events_on_user_id_and_created ON billing_events (user_id, created);
