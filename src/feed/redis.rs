//! The feed over Redis pub/sub: a dedicated subscriber connection listens; events are
//! published right after their transaction commits (see `Feed::committed`).

use std::sync::Arc;

use futures::StreamExt;

use super::{backoff, handle, Body, Feed, Watchdog, CHANNEL, PING_EVERY};
use crate::store::redis::Redis;

pub(super) async fn listen(feed: Arc<Feed>, redis: Redis) {
    let mut attempt = 0;
    loop {
        let mut pubsub = match redis.subscribe(CHANNEL).await {
            Ok(pubsub) => pubsub,
            Err(e) => {
                tracing::debug!(error = %e, "feed subscriber cannot connect");
                feed.set_up(false);
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
                continue;
            }
        };
        attempt = 0;
        feed.set_up(true);
        let mut watchdog = Watchdog::new();
        let mut pings = tokio::time::interval(PING_EVERY);
        let mut messages = pubsub.on_message();
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(message) => {
                        let payload: String = message.get_payload().unwrap_or_default();
                        if handle(&feed, &payload) {
                            watchdog.heard_own_ping();
                        }
                    }
                    None => break,
                },
                _ = pings.tick() => {
                    if watchdog.expired() {
                        tracing::warn!("feed subscriber: our own pings stopped coming back");
                        break;
                    }
                    if let Err(e) = feed.publish_now(Body::Ping).await {
                        tracing::debug!(error = %e, "feed ping not sent");
                    }
                }
            }
        }
        feed.set_up(false);
    }
}
