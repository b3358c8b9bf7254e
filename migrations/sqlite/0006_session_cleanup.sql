-- The clean-up of dead sessions finds idle ones by last_seen_at; without an index it
-- read the whole table on every run.
CREATE INDEX sessions_last_seen_at ON sessions(last_seen_at);
