-- Conversations, the inbound messages already seen, the journal, the outbox and timers: the
-- same tables as on SQLite. Values are JSON text and unix microseconds, as there.
CREATE TABLE conversations (
    id          TEXT PRIMARY KEY,          -- channel:chat
    state       TEXT NOT NULL,             -- the Conversation as JSON
    owner       TEXT NOT NULL,             -- 'bot', 'queued', 'parked', 'agent', 'closed'
    updated_at  BIGINT NOT NULL            -- unix microseconds
);
-- Handoff conversations (queued, parked, with an agent) are loaded at start-up to rebuild routing.
CREATE INDEX conversations_owner ON conversations (owner) WHERE owner IN ('queued', 'parked', 'agent');

CREATE TABLE inbound (
    conversation_id TEXT NOT NULL,
    platform_id     TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, platform_id)
);

-- The primary key also keeps two processes from both writing a step of one conversation:
-- the second commit reuses the first one's sequence numbers and fails.
CREATE TABLE journal (
    conversation_id TEXT NOT NULL,
    seq             BIGINT NOT NULL,
    at              BIGINT NOT NULL,
    event           TEXT NOT NULL,         -- the Event as JSON
    PRIMARY KEY (conversation_id, seq)
);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    message         TEXT NOT NULL,         -- the Outbound as JSON
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered_at IS NULL;

CREATE TABLE timers (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    due_at          BIGINT NOT NULL,
    kind            TEXT NOT NULL          -- the TimerKind as JSON
);
CREATE INDEX timers_due ON timers (due_at);
