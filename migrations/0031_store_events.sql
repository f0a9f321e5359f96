-- The events of a group of writes (group commit) appended in one call, each with its
-- own origin. $1: a JSON array of {channel, event, data, origin}; returns each event's
-- place in the array (from 1), its seq and its time. Heads are taken in channel order,
-- as every write takes them, and a channel's events get its next seqs in array order.
-- PL/pgSQL rather than SQL: its statement's plan is kept for the session, where a SQL
-- function's body would be planned again at every call (half its cost, measured).
CREATE FUNCTION store_events(events jsonb)
RETURNS TABLE (i bigint, seq bigint, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH e AS (
        SELECT x.i, x.e->>'channel' AS channel, x.e->>'event' AS event, x.e->'data' AS data,
               x.e->>'origin' AS origin
        FROM jsonb_array_elements(events) WITH ORDINALITY AS x(e, i)
    ), heads AS (
        INSERT INTO channel_heads AS h (channel, seq)
        SELECT e.channel, count(*) FROM e GROUP BY e.channel ORDER BY e.channel
        ON CONFLICT (channel) DO UPDATE SET seq = h.seq + excluded.seq, updated_at = now()
        RETURNING h.channel, h.seq
    ), placed AS (
        SELECT e.*, h.seq - count(*) OVER (PARTITION BY e.channel)
                    + row_number() OVER (PARTITION BY e.channel ORDER BY e.i) AS seq
        FROM e JOIN heads h USING (channel)
    ), stored AS (
        INSERT INTO channel_events (channel, seq, event, data, origin)
        SELECT p.channel, p.seq, p.event, p.data, p.origin FROM placed p
    )
    SELECT p.i, p.seq, now() FROM placed p ORDER BY p.i;
END;
$$;
