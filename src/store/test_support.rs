//! A fresh, migrated PostgreSQL database for the unit tests of PostgreSQL-only code,
//! dropped afterwards. Without `LATCHKEY_TEST_POSTGRES_URL` those tests are skipped,
//! except under `CI=true`, where PostgreSQL is required.

use sqlx::Connection;

use super::{Limits, Store};

pub struct TestPostgres {
    pub store: Store,
    pub url: String,
    admin_url: String,
    name: String,
}

impl TestPostgres {
    pub async fn create() -> Option<TestPostgres> {
        let Some(admin_url) = std::env::var("LATCHKEY_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty()) else {
            assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true requires LATCHKEY_TEST_POSTGRES_URL");
            return None;
        };
        let name =
            format!("latchkey_unit_{}", crate::crypto::token::new_token()[..12].to_lowercase().replace('-', "_"));
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("cannot reach LATCHKEY_TEST_POSTGRES_URL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\"")).execute(&mut conn).await.expect("CREATE DATABASE");
        let url = database_url(&admin_url, &name);
        let store = Store::connect(&url, Limits::default()).await.expect("connect");
        store.migrate().await.expect("migrate");
        Some(TestPostgres { store, url, admin_url, name })
    }
}

/// `admin_url` with its database name replaced by `name`.
pub fn database_url(admin_url: &str, name: &str) -> String {
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside async; a small runtime of its own removes the database.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}
