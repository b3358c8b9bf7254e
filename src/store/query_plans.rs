//! Every query on the hot path (each authenticated request, each login, the periodic
//! clean-up) is answered through an index on both backends: `EXPLAIN` of each must not
//! read a whole table. A missing index shows up here, not as a slow server at 1M rows.

use super::test_support::TestPostgres;
use super::{refresh, sessions, users, Db, Limits, Store};

enum Bind {
    Int(i64),
    Bytes(Vec<u8>),
    Text(&'static str),
}

fn hot_queries() -> Vec<(&'static str, &'static str, Vec<Bind>)> {
    use Bind::*;
    vec![
        ("session with its user", sessions::SESSION_WITH_USER, vec![Bytes(vec![0; 32])]),
        ("dead sessions", sessions::DEAD_SESSIONS, vec![Int(1), Int(1), Int(1000)]),
        ("user by id", users::USER_BY_ID, vec![Int(1)]),
        ("user by username or email", users::USER_BY_LOGIN, vec![Text("ada")]),
        ("refresh token by hash", refresh::REFRESH_BY_HASH, vec![Bytes(vec![0; 32])]),
    ]
}

#[tokio::test]
async fn hot_queries_use_an_index_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plans.db").display());
    let store = Store::connect(&url, Limits::default()).await.unwrap();
    store.migrate().await.unwrap();
    let Db::Sqlite { read, .. } = &store.db else { unreachable!() };
    for (name, sql, binds) in hot_queries() {
        let explain = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query = sqlx::query_as::<_, (i64, i64, i64, String)>(&explain);
        for bind in binds {
            query = match bind {
                Bind::Int(n) => query.bind(n),
                Bind::Bytes(b) => query.bind(b),
                Bind::Text(t) => query.bind(t),
            };
        }
        let plan: Vec<String> = query.fetch_all(read).await.unwrap().into_iter().map(|row| row.3).collect();
        assert!(!plan.iter().any(|step| step.starts_with("SCAN")), "{name} reads a whole table on SQLite: {plan:#?}");
    }
}

#[tokio::test]
async fn hot_queries_use_an_index_on_postgres() {
    let Some(db) = TestPostgres::create().await else { return };
    let Db::Postgres(pool) = &db.store.db else { unreachable!() };
    let mut conn = pool.acquire().await.unwrap();
    // With sequential scans priced out, a plan that still has one has no index to use.
    sqlx::query("SET enable_seqscan = off").execute(&mut *conn).await.unwrap();
    for (name, sql, binds) in hot_queries() {
        let explain = format!("EXPLAIN {sql}");
        let mut query = sqlx::query_as::<_, (String,)>(&explain);
        for bind in binds {
            query = match bind {
                Bind::Int(n) => query.bind(n),
                Bind::Bytes(b) => query.bind(b),
                Bind::Text(t) => query.bind(t),
            };
        }
        let plan: Vec<String> = query.fetch_all(&mut *conn).await.unwrap().into_iter().map(|row| row.0).collect();
        assert!(
            !plan.iter().any(|step| step.contains("Seq Scan")),
            "{name} reads a whole table on PostgreSQL: {plan:#?}"
        );
    }
}
