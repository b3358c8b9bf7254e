//! Redis, when configured: the shared limiter's sliding-window logs and the revocation
//! feed's pub/sub channel. Every key starts with the configured prefix, so several
//! deployments (or test runs) can share one server. Every command is bounded by a short
//! timeout: a slow or absent Redis must never hold a request up.

use std::time::Duration;

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig, PubSub};
use ::redis::{AsyncCommands, Client, Script};

#[derive(Debug, thiserror::Error)]
pub enum RedisError {
    #[error("redis: {0}")]
    Failed(#[from] ::redis::RedisError),
    #[error("redis did not answer within {0:?}")]
    TimedOut(Duration),
}

/// A sliding-window reservation in one script: expire old slots, count, then either add
/// this slot (keys expire with the window, so an idle key disappears by itself) or report
/// how long until the oldest leaves and whether this is the window's first refusal.
const RESERVE: &str = r"
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  redis.call('ZADD', KEYS[1], now, ARGV[4])
  redis.call('PEXPIRE', KEYS[1], window)
  return {1, 0, 0}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local first = redis.call('SET', KEYS[2], '1', 'NX', 'PX', window)
return {0, tonumber(oldest[2]), first and 1 or 0}
";

#[derive(Clone)]
pub struct Redis {
    client: Client,
    commands: ConnectionManager,
    reserve: Script,
    prefix: String,
    timeout: Duration,
}

/// What the reservation script answered.
pub enum ReserveReply {
    Granted,
    Denied { oldest_ms: i64, first: bool },
}

impl Redis {
    /// Prepares the connection without waiting for Redis: latchkey starts (and logs in on
    /// the database limiter) while Redis is down, and connects once it is back.
    pub fn connect(url: &str, prefix: &str, timeout: Duration) -> Result<Redis, RedisError> {
        let client = Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let commands = client.get_connection_manager_lazy(config)?;
        Ok(Redis { client, commands, reserve: Script::new(RESERVE), prefix: prefix.to_string(), timeout })
    }

    /// `prefix + name`: every key and channel latchkey uses.
    pub fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    async fn bounded<T>(&self, f: impl std::future::Future<Output = ::redis::RedisResult<T>>) -> Result<T, RedisError> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(result) => Ok(result?),
            Err(_) => Err(RedisError::TimedOut(self.timeout)),
        }
    }

    pub async fn ping(&self) -> Result<(), RedisError> {
        let mut conn = self.commands.clone();
        let _: String = self.bounded(::redis::cmd("PING").query_async(&mut conn)).await?;
        Ok(())
    }

    pub async fn reserve(
        &self,
        key: &str,
        slot: i64,
        now_ms: i64,
        window_ms: i64,
        limit: u32,
    ) -> Result<ReserveReply, RedisError> {
        let mut conn = self.commands.clone();
        let mut invocation = self.reserve.key(self.key(key));
        invocation.key(self.key(&format!("{key}:denied"))).arg(now_ms).arg(window_ms).arg(limit).arg(slot);
        let (granted, oldest_ms, first): (i64, i64, i64) = self.bounded(invocation.invoke_async(&mut conn)).await?;
        Ok(if granted == 1 { ReserveReply::Granted } else { ReserveReply::Denied { oldest_ms, first: first == 1 } })
    }

    pub async fn refund(&self, key: &str, slot: i64) -> Result<(), RedisError> {
        let mut conn = self.commands.clone();
        let _: i64 = self.bounded(conn.zrem(self.key(key), slot)).await?;
        Ok(())
    }

    pub async fn reset(&self, key: &str) -> Result<(), RedisError> {
        let mut conn = self.commands.clone();
        let _: i64 = self.bounded(conn.del(self.key(key))).await?;
        Ok(())
    }

    pub async fn publish(&self, channel: &str, payload: &str) -> Result<(), RedisError> {
        let mut conn = self.commands.clone();
        let _: i64 = self.bounded(conn.publish(self.key(channel), payload)).await?;
        Ok(())
    }

    /// A connection of its own for receiving on `channel`, subscribed when this returns.
    pub async fn subscribe(&self, channel: &str) -> Result<PubSub, RedisError> {
        let mut pubsub = self.bounded(self.client.get_async_pubsub()).await?;
        self.bounded(pubsub.subscribe(self.key(channel))).await?;
        Ok(pubsub)
    }
}
