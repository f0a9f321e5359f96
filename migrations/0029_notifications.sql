-- Notifications: what the reader's notification preferences let through, kept so every
-- device lists them and marks them read; each also goes to the user channel as a
-- `notification` event.
CREATE TABLE notifications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('new_follower', 'ai_suggestion', 'reading_reminder')),
    title text NOT NULL,
    body text,
    data jsonb NOT NULL DEFAULT '{}',
    -- at most one notification per key and reader (a reminder a day, a follower once)
    dedupe_key text,
    created_at timestamptz NOT NULL DEFAULT now(),
    read_at timestamptz
);
CREATE INDEX index_notifications_on_user_id_and_created_at
    ON notifications (user_id, created_at, id);
CREATE UNIQUE INDEX index_notifications_on_user_id_and_dedupe_key
    ON notifications (user_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX index_notifications_on_created_at ON notifications (created_at);
