-- The journal becomes an append-only log. A row's key was (conversation, seq), so every step
-- inserted into the middle of a B-tree that grows with the number of conversations: at
-- 100,000 of them each group commit dirtied leaf pages all over the file. Now a row's key is
-- its rowid (appended at the end), it names the conversation's row before it (`prev`), and
-- the conversation names its last row (`journal_tail`) and last sequence number
-- (`journal_seq`, which a step's first number must follow). A transcript is read by walking
-- back from the tail.
CREATE TABLE journal_log (
    id              INTEGER PRIMARY KEY,   -- write order
    conversation_id TEXT NOT NULL,
    prev            INTEGER,               -- the conversation's row before this one; NULL for its first
    seq             INTEGER NOT NULL,      -- the first event's sequence number
    at              INTEGER NOT NULL,
    events          TEXT NOT NULL          -- a JSON array of Events (one Event object in rows of 0001)
);

INSERT INTO journal_log (conversation_id, seq, at, events)
    SELECT conversation_id, seq, at, events FROM journal ORDER BY conversation_id, seq;
CREATE INDEX journal_log_migrating ON journal_log (conversation_id, seq);
UPDATE journal_log SET prev = (
    SELECT p.id FROM journal_log p
    WHERE p.conversation_id = journal_log.conversation_id AND p.seq < journal_log.seq
    ORDER BY p.seq DESC LIMIT 1
);

ALTER TABLE conversations ADD COLUMN journal_tail INTEGER;
ALTER TABLE conversations ADD COLUMN journal_seq INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET (journal_tail, journal_seq) = (
    SELECT j.id, j.seq + (CASE json_type(j.events) WHEN 'array' THEN json_array_length(j.events) ELSE 1 END) - 1
    FROM journal_log j
    WHERE j.conversation_id = conversations.id
    ORDER BY j.seq DESC LIMIT 1
) WHERE EXISTS (SELECT 1 FROM journal_log j WHERE j.conversation_id = conversations.id);

DROP INDEX journal_log_migrating;
DROP TABLE journal;
ALTER TABLE journal_log RENAME TO journal;
