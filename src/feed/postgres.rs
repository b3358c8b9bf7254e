//! The feed over PostgreSQL `LISTEN/NOTIFY`: a dedicated connection listens; events are
//! queued with `pg_notify` inside the transactions that cause them (see `Feed::stage`).

use std::sync::Arc;

use std::time::Duration;

use sqlx::pool::PoolOptions;
use sqlx::postgres::PgListener;
use sqlx::Postgres;

use super::{backoff, handle, Body, Feed, Watchdog, CHANNEL, PING_EVERY};
use crate::store::Store;

pub(super) async fn listen(feed: Arc<Feed>, store: Store) {
    let Some(pool) = store.postgres_pool() else { return };
    // Named, so an operator sees it in pg_stat_activity (and can end it to test recovery).
    let options = (*pool.connect_options()).clone().application_name(&format!("latchkey feed {}", feed.origin()));
    let mut attempt = 0;
    loop {
        // A pool of its own for each connection: a listener that went silent is closed,
        // never handed back to be reused.
        let connection = PoolOptions::<Postgres>::new().max_connections(1).connect_lazy_with(options.clone());
        let connected = tokio::time::timeout(super::PING_DEADLINE, async {
            let mut listener = PgListener::connect_with(&connection).await?;
            // We reconnect ourselves, so that a reconnection is always seen as `Lost`.
            listener.eager_reconnect(false);
            listener.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        })
        .await;
        let mut listener = match connected {
            Ok(Ok(listener)) => listener,
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "feed listener cannot connect");
                feed.set_up(false);
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                continue;
            }
            Err(_) => {
                feed.set_up(false);
                attempt += 1;
                continue;
            }
        };
        attempt = 0;
        feed.set_up(true);
        serve(&feed, &mut listener).await;
        feed.set_up(false);
        drop(listener);
        tokio::spawn(async move {
            let _ = tokio::time::timeout(Duration::from_secs(5), connection.close()).await;
        });
    }
}

/// Applies notifications until the connection drops or our pings stop coming back.
async fn serve(feed: &Arc<Feed>, listener: &mut PgListener) {
    let mut watchdog = Watchdog::new();
    let mut pings = tokio::time::interval(PING_EVERY);
    loop {
        tokio::select! {
            received = listener.try_recv() => match received {
                Ok(Some(notification)) => {
                    if handle(feed, notification.payload()) {
                        watchdog.heard_own_ping();
                    }
                }
                Ok(None) | Err(_) => return,
            },
            _ = pings.tick() => {
                if watchdog.expired() {
                    tracing::warn!("feed listener: our own pings stopped coming back");
                    return;
                }
                if let Err(e) = feed.publish_now(Body::Ping).await {
                    tracing::debug!(error = %e, "feed ping not sent");
                }
            }
        }
    }
}
