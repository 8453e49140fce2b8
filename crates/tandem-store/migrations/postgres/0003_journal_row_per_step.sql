-- A journal row holds a step's events (a JSON array, from `seq` on) instead of one event:
-- a turn wrote 3-4 rows and now writes one. Rows written before hold one event object each
-- and are read as they are. `tandem_commit` is replaced for the renamed column only; its
-- arrays now carry one element per step (p_seqs: the first sequence number of each).
ALTER TABLE journal RENAME COLUMN event TO events;

CREATE OR REPLACE FUNCTION tandem_commit(
    p_key         TEXT,
    p_now         BIGINT,
    p_inbound     TEXT,
    p_fired       TEXT,
    p_cancel      TEXT[],
    p_timer_ids   TEXT[],
    p_timer_dues  BIGINT[],
    p_timer_kinds TEXT[],
    p_seqs        BIGINT[],
    p_ats         BIGINT[],
    p_events      TEXT[],
    p_outbox      TEXT[],
    p_state       TEXT,
    p_owner       TEXT
) RETURNS BIGINT[] LANGUAGE plpgsql AS $$
DECLARE
    ids BIGINT[];
BEGIN
    IF p_fired IS NOT NULL THEN
        DELETE FROM timers WHERE id = p_fired;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'timer % already fired', p_fired USING ERRCODE = 'TD409';
        END IF;
    END IF;
    IF p_inbound IS NOT NULL THEN
        INSERT INTO inbound (conversation_id, platform_id, received_at)
            VALUES (p_key, p_inbound, p_now) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'message % already handled', p_inbound USING ERRCODE = 'TD409';
        END IF;
    END IF;
    DELETE FROM timers WHERE id = ANY(p_cancel);
    INSERT INTO timers (id, conversation_id, due_at, kind)
        SELECT id, p_key, due, kind FROM unnest(p_timer_ids, p_timer_dues, p_timer_kinds) AS t(id, due, kind)
        ON CONFLICT (id) DO UPDATE
        SET conversation_id = excluded.conversation_id, due_at = excluded.due_at, kind = excluded.kind;
    INSERT INTO journal (conversation_id, seq, at, events)
        SELECT p_key, seq, at, events FROM unnest(p_seqs, p_ats, p_events) AS t(seq, at, events);
    WITH inserted AS (
        INSERT INTO outbox (conversation_id, message, created_at)
        SELECT p_key, body, p_now FROM unnest(p_outbox) WITH ORDINALITY AS t(body, n) ORDER BY n
        RETURNING id
    )
    SELECT coalesce(array_agg(id ORDER BY id), '{}') INTO ids FROM inserted;
    INSERT INTO conversations (id, state, owner, updated_at) VALUES (p_key, p_state, p_owner, p_now)
        ON CONFLICT (id) DO UPDATE
        SET state = excluded.state, owner = excluded.owner, updated_at = excluded.updated_at;
    RETURN ids;
END
$$;
