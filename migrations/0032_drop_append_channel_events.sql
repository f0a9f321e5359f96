-- Every write appends its events through store_events (0031) now; the older
-- one-origin function has no caller left.
DROP FUNCTION append_channel_events(text[], text[], text[], text);
