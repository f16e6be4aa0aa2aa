DROP INDEX IF EXISTS idx_central_messages_reply_created;
CREATE INDEX idx_central_messages_reply ON central_messages (in_reply_to_root_message_id);
