#!/usr/bin/env python3
"""Bulk-load users and live sessions into a latchkey database for the benchmarks.

    seed.py DATABASE_URL --users N --template USERNAME --cookies FILE [--sample K] [--offset F]

Every seeded user `bench<i>` gets the password hash of the existing account TEMPLATE
(so it logs in with that account's password) and one live session whose token is
derived from i. K of those tokens, picked at random, are written to FILE as Cookie
header values. SQLite is loaded from Python in batches; PostgreSQL by psql with
generate_series, so a million rows take seconds, not a million signups.
"""
import argparse
import base64
import hashlib
import random
import sqlite3
import subprocess
import sys
import time

SESSION_LIFETIME = 30 * 86400


def token(i):
    digest = hashlib.sha256(b"latchkey-bench-%d" % i).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def seed_sqlite(path, n, template, now, offset):
    db = sqlite3.connect(path, timeout=30)
    (password_hash,) = db.execute(
        "SELECT password_hash FROM users WHERE username_key = ?", (template.lower(),)
    ).fetchone()
    first = (db.execute("SELECT COALESCE(MAX(id), 0) FROM users").fetchone()[0]) + 1
    batch = 50_000
    with db:
        for start in range(0, n, batch):
            ids = range(first + start, first + min(n, start + batch))
            db.executemany(
                "INSERT INTO users (id, username, username_key, password_hash, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                ((uid, f"bench{offset + uid - first}", f"bench{offset + uid - first}", password_hash, now, now)
                 for uid in ids),
            )
            db.executemany(
                "INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (
                    (uid, hashlib.sha256(token(offset + uid - first).encode()).digest(), now, now, now + SESSION_LIFETIME)
                    for uid in ids
                ),
            )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def seed_postgres(url, n, template, now, offset):
    b64 = "translate(rtrim(encode(sha256(convert_to('latchkey-bench-' || i, 'UTF8')), 'base64'), '='), '+/', '-_')"
    sql = f"""
\\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE bench_seed AS
  SELECT i, nextval(pg_get_serial_sequence('users', 'id')) AS uid FROM generate_series({offset}, {offset + n - 1}) AS i;
INSERT INTO users (id, username, username_key, password_hash, created_at, updated_at)
  SELECT uid, 'bench' || i, 'bench' || i,
         (SELECT password_hash FROM users WHERE username_key = lower('{template}')), {now}, {now}
  FROM bench_seed;
INSERT INTO sessions (user_id, token_hash, created_at, last_seen_at, expires_at)
  SELECT uid, sha256(convert_to({b64}, 'UTF8')), {now}, {now}, {now + SESSION_LIFETIME}
  FROM bench_seed;
COMMIT;
ANALYZE users;
ANALYZE sessions;
"""
    subprocess.run(["psql", "-q", url], input=sql, text=True, check=True)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("database_url", help="sqlite://FILE or postgres://…")
    p.add_argument("--users", type=int, required=True)
    p.add_argument("--template", required=True)
    p.add_argument("--cookies", required=True)
    p.add_argument("--sample", type=int, default=10_000)
    p.add_argument("--cookie-name", default="latchkey_session")
    p.add_argument("--offset", type=int, default=0, help="number of the first user (bench<offset>)")
    a = p.parse_args()
    now = int(time.time())
    started = time.monotonic()
    if a.database_url.startswith("postgres"):
        seed_postgres(a.database_url, a.users, a.template, now, a.offset)
    else:
        seed_sqlite(a.database_url.removeprefix("sqlite://").split("?")[0], a.users, a.template, now, a.offset)
    picks = random.Random(42).sample(range(a.offset, a.offset + a.users), min(a.sample, a.users))
    with open(a.cookies, "w") as f:
        for i in picks:
            f.write(f"{a.cookie_name}={token(i)}\n")
    print(f"seeded {a.users} users and sessions in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
