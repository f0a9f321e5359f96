-- The events of a group of writes (group commit) appended in one call, each with its
-- own origin. $1: a JSON array of {channel, event, data, origin}; returns each event's
-- place in the array (from 1), its seq and its time. Heads are taken in channel order,
-- as every write takes them, and a channel's events get its next seqs in array order.
CREATE FUNCTION store_events(events jsonb)
RETURNS TABLE (i bigint, seq bigint, created_at timestamptz)
LANGUAGE sql AS $$
WITH e AS (
    SELECT x.i, x.e->>'channel' AS channel, x.e->>'event' AS event, x.e->'data' AS data,
           x.e->>'origin' AS origin
    FROM jsonb_array_elements(events) WITH ORDINALITY AS x(e, i)
), heads AS (
    INSERT INTO channel_heads AS h (channel, seq)
    SELECT channel, count(*) FROM e GROUP BY channel ORDER BY channel
    ON CONFLICT (channel) DO UPDATE SET seq = h.seq + excluded.seq, updated_at = now()
    RETURNING h.channel, h.seq
), placed AS (
    SELECT e.*, h.seq - count(*) OVER (PARTITION BY e.channel)
                + row_number() OVER (PARTITION BY e.channel ORDER BY e.i) AS seq
    FROM e JOIN heads h USING (channel)
), stored AS (
    INSERT INTO channel_events (channel, seq, event, data, origin)
    SELECT channel, seq, event, data, origin FROM placed
)
SELECT i, seq, now() FROM placed ORDER BY i
$$;
