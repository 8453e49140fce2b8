-- A journal row holds a step's events (a JSON array, from `seq` on) instead of one event:
-- a turn wrote 3-4 rows and now writes one. Rows written before hold one event object each
-- and are read as they are.
ALTER TABLE journal RENAME COLUMN event TO events;
