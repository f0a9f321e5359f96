-- Reading sync across devices (PROTOCOL.md §3 reading) and one-round-trip event appends.

-- reading_progress keeps the latest position (last write wins, in server order) in the
-- seed's columns; the furthest position ever reached is kept beside it and never moves
-- back, except by an explicit reset for a re-read.
ALTER TABLE reading_progress
    ADD COLUMN device text,
    ADD COLUMN furthest_page integer,
    ADD COLUMN furthest_character_offset integer,
    ADD COLUMN furthest_percentage double precision,
    ADD COLUMN furthest_position_data jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN furthest_at timestamptz;

-- each device's own last position
CREATE TABLE reading_positions (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    book_id uuid NOT NULL REFERENCES books (id) ON DELETE CASCADE,
    device text NOT NULL,
    current_page integer,
    current_character_offset integer,
    progress_percentage double precision,
    position_data jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, book_id, device)
);
CREATE INDEX index_reading_positions_on_book_id ON reading_positions (book_id);

-- Delivery after an outage is repaired by each web process reconciling its channels
-- against channel_heads (docs/architecture.md), so no published mark is kept per event.
DROP INDEX index_channel_heads_unpublished;
ALTER TABLE channel_heads DROP COLUMN published_seq;

-- Append events to their channels in one statement. Heads are bumped in channel order so
-- two writes sharing channels always lock them in the same order (no deadlock).
-- Returns each event's channel, seq and timestamp, in input order.
CREATE FUNCTION append_channel_events(
    channels text[], events text[], datas text[], origin text
) RETURNS TABLE (ord integer, channel text, seq bigint, created_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    ch text;
    n integer;
    head bigint;
    i integer;
    next_seq bigint;
BEGIN
    FOR ch, n IN
        SELECT c, count(*)::integer FROM unnest(channels) AS c GROUP BY c ORDER BY c
    LOOP
        INSERT INTO channel_heads AS h (channel, seq) VALUES (ch, n)
        ON CONFLICT (channel) DO UPDATE SET seq = h.seq + n, updated_at = now()
        RETURNING h.seq INTO head;
        next_seq := head - n + 1;
        FOR i IN 1 .. array_length(channels, 1) LOOP
            IF channels[i] = ch THEN
                INSERT INTO channel_events (channel, seq, event, data, origin)
                VALUES (ch, next_seq, events[i], datas[i]::jsonb, origin);
                ord := i; channel := ch; seq := next_seq; created_at := now();
                RETURN NEXT;
                next_seq := next_seq + 1;
            END IF;
        END LOOP;
    END LOOP;
END;
$$;
