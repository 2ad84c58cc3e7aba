//! Pending codes in Redis: one hash per phone {d: digest, a: attempts left}, expiring at the
//! code's deadline.
use async_trait::async_trait;
use redis::Script;

use super::Redis;
use crate::{
    domain::{AuthError, Digest},
    store::{CodeCheck, CodeStore, PendingCode},
};

/// Checks a digest and consumes or charges the code, atomically. Returns -1 for no code,
/// -2 for a match (the code is deleted), else the tries left after this miss.
const CHECK: &str = r"
local v = redis.call('HMGET', KEYS[1], 'd', 'a')
if not v[1] then return -1 end
if v[1] == ARGV[1] then redis.call('DEL', KEYS[1]); return -2 end
local left = tonumber(v[2]) - 1
if left <= 0 then redis.call('DEL', KEYS[1]); return 0 end
redis.call('HSET', KEYS[1], 'a', left)
return left
";

pub struct RedisCodeStore {
    redis: Redis,
    check: Script,
}

impl RedisCodeStore {
    pub fn new(redis: Redis) -> Self {
        Self {
            redis,
            check: Script::new(CHECK),
        }
    }
}

#[async_trait]
impl CodeStore for RedisCodeStore {
    async fn put(&self, phone: &str, code: PendingCode) -> Result<(), AuthError> {
        let key = self.redis.key(&["code", phone]);
        let mut pipe = redis::pipe();
        pipe.atomic()
            .del(&key)
            .hset_multiple(
                &key,
                &[
                    ("d", code.digest.0.to_vec()),
                    ("a", code.attempts_left.to_string().into_bytes()),
                ],
            )
            .pexpire_at(&key, code.expires_at.div_euclid(1000));
        self.redis
            .bounded(pipe.query_async::<()>(&mut self.redis.connection()))
            .await
    }

    async fn check(&self, phone: &str, digest: Digest) -> Result<CodeCheck, AuthError> {
        let key = self.redis.key(&["code", phone]);
        let mut connection = self.redis.connection();
        let mut check = self.check.key(key);
        check.arg(digest.0.as_slice());
        let outcome: i64 = self
            .redis
            .bounded(check.invoke_async(&mut connection))
            .await?;
        Ok(match outcome {
            -2 => CodeCheck::Accepted,
            -1 => CodeCheck::Missing,
            left => CodeCheck::Rejected {
                attempts_left: left.max(0) as u32,
            },
        })
    }

    fn entry_count(&self) -> Option<u64> {
        // Counting would need a scan of the keyspace; Redis' own metrics tell this.
        None
    }
}
