-- Events on a book channel that carried a highlight or annotation are redacted when the
-- item stops being visible there (made private, deleted): replay must not reveal it.
-- This finds them by the item's id without reading the channel's whole retention window.
CREATE INDEX index_channel_events_on_book_item ON channel_events (channel, (data->>'id'))
    WHERE channel LIKE 'book:%';
