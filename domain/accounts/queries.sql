-- name: insert_user
INSERT INTO users (email, username, encrypted_password, reading_preferences, ai_preferences,
                   notification_preferences, sign_in_count, current_sign_in_at,
                   current_sign_in_ip, last_active_at)
VALUES ($1, $2, $3, $4, $5, $6, 1, now(), $7::inet, now())
RETURNING {user_columns}

-- name: user_for_login
SELECT id, encrypted_password FROM users
WHERE lower(email) = $1 OR lower(username) = $1
ORDER BY lower(username) = $1 DESC
LIMIT 1

-- name: track_sign_in
UPDATE users
SET sign_in_count = sign_in_count + 1,
    last_sign_in_at = current_sign_in_at,
    last_sign_in_ip = current_sign_in_ip,
    current_sign_in_at = now(),
    current_sign_in_ip = $2::inet,
    last_active_at = now(),
    encrypted_password = coalesce($3, encrypted_password),
    deleted_at = NULL  -- signing in within the grace period restores a removed account
WHERE id = $1
RETURNING {user_columns}

-- name: taken
-- which of a new account's unique names is in use already (email first)
SELECT CASE WHEN lower(email) = lower($1) THEN 'email' ELSE 'username' END
FROM users WHERE lower(email) = lower($1) OR lower(username) = lower($2)
ORDER BY lower(email) = lower($1) DESC
LIMIT 1

-- name: user_by_id
-- a removed account is gone (its sockets cannot open) until it signs in again
SELECT {user_columns} FROM users WHERE id = $1 AND deleted_at IS NULL

-- name: public_user_by_username
-- by username, or by id ($2) when the path held one (a username never has hyphens)
SELECT {public_columns}, public_profile FROM users
WHERE (lower(username) = lower($1) OR id = $2) AND deleted_at IS NULL

-- name: update_profile
UPDATE users
SET first_name = CASE WHEN $2 THEN $3 ELSE first_name END,
    last_name = CASE WHEN $4 THEN $5 ELSE last_name END,
    bio = CASE WHEN $6 THEN $7 ELSE bio END,
    avatar_url = CASE WHEN $8 THEN $9 ELSE avatar_url END,
    time_zone = coalesce($10, time_zone),
    reading_preferences = reading_preferences || coalesce($11, '{}'::jsonb),
    ai_preferences = ai_preferences || coalesce($12, '{}'::jsonb),
    notification_preferences = notification_preferences || coalesce($13, '{}'::jsonb),
    public_profile = coalesce($14, public_profile),
    onboarding_completed = onboarding_completed || coalesce($15, '{}'::jsonb)
WHERE id = $1 AND deleted_at IS NULL
RETURNING {user_columns}

-- name: insert_refresh_token
INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at, user_agent, ip)
VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5, $6::inet)
RETURNING id

-- name: refresh_token_for_update
SELECT id, user_id, family_id, expires_at, revoked_at
FROM refresh_tokens WHERE token_hash = $1
FOR UPDATE

-- name: revoke_refresh_token
UPDATE refresh_tokens SET revoked_at = now(), replaced_by = $2
WHERE id = $1 AND revoked_at IS NULL

-- name: password_of
SELECT encrypted_password FROM users WHERE id = $1

-- name: email_of
SELECT email FROM users WHERE id = $1

-- name: set_password
UPDATE users SET encrypted_password = $2 WHERE id = $1

-- name: revoke_all_tokens
UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL

-- name: remove_account
UPDATE users SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL

-- name: removed_accounts
-- accounts whose grace period is over, a batch at a time
SELECT id FROM users WHERE deleted_at < now() - make_interval(days => $1) LIMIT $2

-- name: shares_of
SELECT id FROM quote_shares WHERE user_id = $1

-- name: purge_account
DELETE FROM users WHERE id = $1 AND deleted_at IS NOT NULL

-- name: revoke_token_family
UPDATE refresh_tokens SET revoked_at = now()
WHERE family_id = $1 AND revoked_at IS NULL

-- name: throttle_locks
SELECT max(locked_until) AS locked_until
FROM login_throttles
WHERE key = ANY($1::text[]) AND locked_until > now()

-- name: throttle_attempt
-- One more attempt on the key within its window (a new window when the old one ended).
INSERT INTO login_throttles AS t (key, failures, window_started_at)
VALUES ($1, 1, now())
ON CONFLICT (key) DO UPDATE
SET failures = CASE WHEN t.window_started_at < now() - make_interval(secs => $2)
                    THEN 1 ELSE t.failures + 1 END,
    window_started_at = CASE WHEN t.window_started_at < now() - make_interval(secs => $2)
                             THEN now() ELSE t.window_started_at END
RETURNING failures

-- name: throttle_claim
-- An attempt at or past the threshold goes ahead only if it sets the key's next lockout
-- itself (the row lock lets one of concurrent attempts do so); no row: another did.
UPDATE login_throttles SET locked_until = now() + make_interval(secs => $2)
WHERE key = $1 AND (locked_until IS NULL OR locked_until <= now())
RETURNING key

-- name: throttle_succeeded
-- A success from an address takes back its attempt; a lock it claimed ends when the
-- address is below its threshold again.
UPDATE login_throttles
SET failures = greatest(failures - 1, 0),
    locked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE locked_until END
WHERE key = $1

-- name: throttle_clear
DELETE FROM login_throttles WHERE key = $1

-- name: credit_referral
-- A sign-up through a quote card's link: the share gains an attributed sign-up and its
-- viral coefficient (sign-ups per click-through, as the seed defines it: above 1 when
-- the link travelled without clicks we saw) moves. An unknown code changes nothing.
WITH share AS (
    UPDATE quote_shares
    SET app_installs_attributed = app_installs_attributed + 1,
        viral_coefficient = CASE WHEN click_throughs > 0 THEN
            round((app_installs_attributed + 1)::numeric / click_throughs, 4) END
    WHERE referral_code = $2
    RETURNING id
)
UPDATE users SET referred_by_share_id = (SELECT id FROM share) WHERE id = $1
  AND EXISTS (SELECT 1 FROM share)

-- name: set_sync_password
UPDATE users SET sync_password_hash = $2 WHERE id = $1 AND deleted_at IS NULL

-- name: sync_login
-- a device signs in with the reader's username or email, as the web reader does
SELECT id, sync_password_hash FROM users
WHERE (lower(email) = $1 OR lower(username) = $1) AND deleted_at IS NULL
ORDER BY lower(username) = $1 DESC
LIMIT 1

-- name: user_for_mail
-- the account an address belongs to; a removed one too (a reset, then a sign-in within
-- the grace period, restores it)
SELECT id, email, username, confirmed_at FROM users WHERE lower(email) = $1

-- name: mails_sent_recently
SELECT count(*) FROM account_tokens
WHERE user_id = $1 AND purpose = $2 AND created_at > now() - interval '1 hour'

-- name: insert_account_token
INSERT INTO account_tokens (token_hash, user_id, purpose, email, expires_at)
VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))

-- name: valid_account_token
SELECT user_id, email FROM account_tokens
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()

-- name: use_account_token
-- single use: of two requests with one token, one gets the row
UPDATE account_tokens SET used_at = now()
WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > now()
RETURNING user_id, email

-- name: retire_account_tokens
UPDATE account_tokens SET used_at = now()
WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL

-- name: confirm_address
-- confirms the account's address only if it is still the one the link was sent to
UPDATE users SET confirmed_at = coalesce(confirmed_at, now())
WHERE id = $1 AND lower(email) = lower($2)
RETURNING id

-- name: login_names
SELECT lower(email) AS email, lower(username) AS username FROM users WHERE id = $1

-- name: change_identity
-- a new email is unconfirmed until its link is followed
UPDATE users
SET email = coalesce($2, email),
    username = coalesce($3, username),
    confirmed_at = CASE WHEN $2::text IS NOT NULL AND lower($2) <> lower(email) THEN NULL
                        ELSE confirmed_at END
WHERE id = $1 AND deleted_at IS NULL
RETURNING lower(email) AS email

-- name: record_activity
-- one statement for every reader active since the last flush
UPDATE users SET last_active_at = v.at
FROM unnest($1::uuid[], $2::timestamptz[]) AS v(id, at)
WHERE users.id = v.id AND deleted_at IS NULL
  AND (users.last_active_at IS NULL OR users.last_active_at < v.at)

-- name: billing_customer
-- the account a billing customer belongs to: by its customer id, else by the account id
-- the checkout put in the subscription's metadata (the first event links the two)
SELECT id FROM users
WHERE stripe_customer_id = $1 OR (stripe_customer_id IS NULL AND id = $2)
ORDER BY stripe_customer_id = $1 DESC NULLS LAST
LIMIT 1
FOR UPDATE

-- name: newest_billing_event
SELECT max(created) FROM billing_events WHERE user_id = $1 AND applied

-- name: record_billing_event
INSERT INTO billing_events (id, type, user_id, created, applied)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (id) DO NOTHING
RETURNING id

-- name: set_subscription
UPDATE users
SET subscription_tier = $2, subscription_expires_at = $3,
    stripe_customer_id = coalesce($4, stripe_customer_id)
WHERE id = $1
RETURNING {user_columns}
