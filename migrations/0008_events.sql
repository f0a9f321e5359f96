-- The durable event log (ARCHITECTURE.md §2). Each write appends its events here in
-- the transaction that makes the change; `seq` comes from the channel's head row
-- (UPDATE ... SET seq = seq + 1 RETURNING seq), which serialises writers per channel
-- and so gives every channel a gapless 1, 2, 3 ...
CREATE TABLE channel_heads (
    channel text PRIMARY KEY,
    seq bigint NOT NULL DEFAULT 0,
    -- highest seq known to have reached the fan-out backend; the relay republishes
    -- anything between published_seq and seq (events committed while Redis was down)
    published_seq bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX index_channel_heads_unpublished ON channel_heads (updated_at)
    WHERE published_seq < seq;

CREATE TABLE channel_events (
    channel text NOT NULL,
    seq bigint NOT NULL,
    event text NOT NULL,
    data jsonb NOT NULL,
    origin text,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, seq)
);
CREATE INDEX index_channel_events_on_created_at ON channel_events (created_at);

-- One row per (job, time slot): a scheduled job runs only if it inserted its row, so
-- two schedulers (or two `make run`) never run the same slot twice.
CREATE TABLE scheduled_runs (
    job text NOT NULL,
    slot text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    result jsonb,
    PRIMARY KEY (job, slot)
);
