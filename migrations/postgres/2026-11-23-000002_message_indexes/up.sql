-- Replies are listed by their root message, oldest first: index both, and retire the single-column index of
-- the initial migration that this one covers.
DROP INDEX IF EXISTS idx_central_messages_reply;
CREATE INDEX idx_central_messages_reply_created ON central_messages (in_reply_to_root_message_id, created_at);
