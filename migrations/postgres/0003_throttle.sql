-- The database limiter's sliding-window logs (one row per key; see src/store/throttle.rs).
-- UNLOGGED: counters need not survive a crash, and skipping the WAL keeps a login storm's
-- reservations cheap.
CREATE UNLOGGED TABLE throttle (
    key        TEXT     PRIMARY KEY,
    hits       BIGINT[] NOT NULL,
    touched_at BIGINT   NOT NULL,
    denied_at  BIGINT
);
