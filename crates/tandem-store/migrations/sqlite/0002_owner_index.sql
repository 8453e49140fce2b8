-- Handoff conversations (queued, parked, with an agent) are loaded at start-up to rebuild routing.
CREATE INDEX conversations_owner ON conversations (owner) WHERE owner IN ('queued', 'parked', 'agent');
