-- Conversations, the inbound messages already seen, the journal, the outbox and timers.
CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,          -- channel:chat
    state       TEXT NOT NULL,             -- the Conversation as JSON
    owner       TEXT NOT NULL,             -- 'bot', 'closed' (for queries; the state has the detail)
    updated_at  INTEGER NOT NULL           -- unix microseconds
);

CREATE TABLE inbound (
    conversation_id TEXT NOT NULL,
    platform_id     TEXT NOT NULL,
    received_at     INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, platform_id)
);

CREATE TABLE journal (
    conversation_id TEXT NOT NULL,
    seq             INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    event           TEXT NOT NULL,         -- the Event as JSON
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id TEXT NOT NULL,
    message         TEXT NOT NULL,         -- the Outbound as JSON
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE timers (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    due_at          INTEGER NOT NULL,
    kind            TEXT NOT NULL          -- the TimerKind as JSON
);
CREATE INDEX timers_due ON timers (due_at);
