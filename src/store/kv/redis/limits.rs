//! Rate-limit counters in Redis, each check-and-update one Lua script on one key, timed by
//! the Redis server's clock so that every instance counts alike.
use std::time::Duration;

use async_trait::async_trait;
use redis::Script;

use super::{LUA_NOW, Redis};
use crate::{
    domain::{AuthError, UnixMicros},
    store::{Admission, RateLimits, kv::limits},
};

/// Sliding-window log in a sorted set, kept for the longer of the window and the minimum gap.
/// ARGV: window µs, limit, gap µs. Returns {1, stamp}, {0, wait µs} (full) or {2, wait µs}
/// (the last hit is younger than the gap).
const HIT: &str = r"
local window, limit, gap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local span = math.max(window, gap)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - span))
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
local newest = last[2] and tonumber(last[2])
if gap > 0 and newest and newest > now - gap then
  return {2, math.max(1, newest + gap - now)}
end
local n = redis.call('ZCOUNT', KEYS[1], '(' .. int(now - window), '+inf')
if n >= limit then
  local total = redis.call('ZCARD', KEYS[1])
  local oldest = redis.call('ZRANGE', KEYS[1], total - limit, total - limit, 'WITHSCORES')
  return {0, math.max(1, tonumber(oldest[2]) + window - now)}
end
local stamp = now
if newest and newest >= now then stamp = newest + 1 end
redis.call('ZADD', KEYS[1], int(stamp), int(stamp))
redis.call('PEXPIRE', KEYS[1], int(math.ceil((stamp + span - now) / 1000)))
return {1, stamp}
";

/// Fixed-window counter. ARGV: window µs, limit. Returns {1, window start} or {0, wait µs}.
const COUNT: &str = r"
local window, limit = tonumber(ARGV[1]), tonumber(ARGV[2])
local start = now - (now % window)
local key = KEYS[1] .. ':' .. int(start)
local n = tonumber(redis.call('GET', key) or '0')
if n >= limit then return {0, math.max(1, start + window - now)} end
redis.call('INCR', key)
redis.call('PEXPIRE', key, int(math.ceil((start + window - now) / 1000)))
return {1, start}
";

/// Token bucket in a hash {t: tokens, at: µs}. ARGV: burst, tokens per µs.
const TAKE: &str = r"
local burst, rate = tonumber(ARGV[1]), tonumber(ARGV[2])
local v = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens, at = tonumber(v[1]) or burst, tonumber(v[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local result
if tokens >= 1 then tokens = tokens - 1; result = {1, now}
else result = {0, math.max(1, math.ceil((1 - tokens) / rate))} end
redis.call('HSET', KEYS[1], 't', string.format('%.6f', tokens), 'at', int(now))
redis.call('PEXPIRE', KEYS[1], int(math.max(1, math.ceil((burst - tokens) / rate / 1000))))
return result
";

pub struct RedisRateLimits {
    redis: Redis,
    hit: Script,
    count: Script,
    take: Script,
}

impl RedisRateLimits {
    pub fn new(redis: Redis) -> Self {
        let script = |body: &str| Script::new(&format!("{LUA_NOW}\n{body}"));
        Self {
            redis,
            hit: script(HIT),
            count: script(COUNT),
            take: script(TAKE),
        }
    }

    async fn run(
        &self,
        script: &Script,
        key: &str,
        args: &[String],
    ) -> Result<Admission, AuthError> {
        let mut invocation = script.key(self.redis.key(&["limit", key]));
        invocation.arg(args);
        let (outcome, value): (i64, i64) = self
            .redis
            .bounded(invocation.invoke_async(&mut self.redis.connection()))
            .await?;
        let wait = Duration::from_micros(value.max(1) as u64);
        Ok(match outcome {
            1 => Admission::Allowed { stamp: value },
            2 => Admission::TooSoon { retry_after: wait },
            _ => Admission::Denied { retry_after: wait },
        })
    }
}

/// A window for a script: whole microseconds, at least one.
fn micros(duration: Duration) -> String {
    limits::micros(duration).max(1).to_string()
}

#[async_trait]
impl RateLimits for RedisRateLimits {
    async fn hit(
        &self,
        key: &str,
        limit: u32,
        window: Duration,
        min_gap: Duration,
    ) -> Result<Admission, AuthError> {
        let gap = limits::micros(min_gap).to_string();
        self.run(&self.hit, key, &[micros(window), limit.to_string(), gap])
            .await
    }

    async fn refund(&self, key: &str, stamp: UnixMicros) -> Result<(), AuthError> {
        let mut zrem = redis::cmd("ZREM");
        zrem.arg(self.redis.key(&["limit", key])).arg(stamp);
        self.redis
            .bounded(zrem.query_async::<()>(&mut self.redis.connection()))
            .await
    }

    async fn count(&self, key: &str, limit: u32, window: Duration) -> Result<Admission, AuthError> {
        self.run(&self.count, key, &[micros(window), limit.to_string()])
            .await
    }

    async fn uncount(&self, key: &str, stamp: UnixMicros) -> Result<(), AuthError> {
        // DECR on an expired window would create a negative counter for a past window; the
        // key for that window is never read again and gets no TTL, so guard with a script-free
        // check: only decrement while the key exists.
        let key = format!("{}:{stamp}", self.redis.key(&["limit", key]));
        let script = redis::Script::new(
            "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECR', KEYS[1]) end return 0",
        );
        let invocation = script.key(key);
        self.redis
            .bounded(invocation.invoke_async::<i64>(&mut self.redis.connection()))
            .await
            .map(drop)
    }

    async fn take_token(
        &self,
        key: &str,
        burst: u32,
        per_second: f64,
    ) -> Result<Admission, AuthError> {
        let per_micro = limits::per_micro(per_second);
        let args = [burst.max(1).to_string(), format!("{per_micro:e}")];
        self.run(&self.take, key, &args).await
    }
}
