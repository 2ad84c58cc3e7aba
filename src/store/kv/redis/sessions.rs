//! Sessions in Redis: a hash per token digest {u: user id, p: phone, i: invite code, e: expiry},
//! and a set of digests per user for LogoutAll. Both expire natively.
use async_trait::async_trait;
use redis::{AsyncCommands, Script};

use super::Redis;
use crate::{
    domain::{AuthError, Clock, Digest, InviteCode, UserId},
    store::{Session, SessionStore},
};

/// Deletes every session listed in the user's set; returns how many still existed.
const REVOKE_ALL: &str = r"
local n = 0
for _, digest in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  n = n + redis.call('DEL', ARGV[1] .. digest)
end
redis.call('DEL', KEYS[1])
return n
";

pub struct RedisSessionStore {
    redis: Redis,
    revoke_all: Script,
    /// Judges the stored deadline on reads; Redis's own TTL frees the key at the same time.
    clock: Clock,
}

impl RedisSessionStore {
    pub fn new(redis: Redis, clock: Clock) -> Self {
        Self {
            redis,
            revoke_all: Script::new(REVOKE_ALL),
            clock,
        }
    }

    fn session_key(&self, digest: &Digest) -> String {
        self.redis.key(&["session", &hex(digest)])
    }

    fn user_key(&self, user: UserId) -> String {
        self.redis.key(&["user-sessions", &user.to_string()])
    }
}

fn hex(digest: &Digest) -> String {
    digest.0.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait]
impl SessionStore for RedisSessionStore {
    async fn create(&self, digest: Digest, session: Session) -> Result<(), AuthError> {
        let key = self.session_key(&digest);
        let user_key = self.user_key(session.user_id);
        let expires_ms = session.expires_at.div_euclid(1000);
        let mut fields = vec![
            ("u", session.user_id.to_string()),
            ("p", session.phone_number.to_string()),
            ("e", session.expires_at.to_string()),
        ];
        if let Some(code) = &session.invite_code {
            fields.push(("i", code.to_string()));
        }
        let mut pipe = redis::pipe();
        pipe.atomic()
            .hset_multiple(&key, &fields)
            .pexpire_at(&key, expires_ms)
            .sadd(&user_key, hex(&digest))
            // The set lives as long as its longest session. It is only ever extended (GT), never
            // shortened: a session made with a shorter TTL (another release, another clock)
            // must not let the set, and so LogoutAll's view of the older sessions, expire
            // early. NX gives a new set its first deadline, which GT alone would not (a key
            // without one counts as never expiring).
            .cmd("PEXPIREAT")
            .arg(&user_key)
            .arg(expires_ms)
            .arg("NX")
            .ignore()
            .cmd("PEXPIREAT")
            .arg(&user_key)
            .arg(expires_ms)
            .arg("GT")
            .ignore();
        self.redis
            .bounded(pipe.query_async::<()>(&mut self.redis.connection()))
            .await
    }

    async fn get(&self, digest: &Digest) -> Result<Option<Session>, AuthError> {
        let mut connection = self.redis.connection();
        type Fields = (Option<i64>, Option<String>, Option<String>, Option<i64>);
        let (user, phone, invite_code, expires): Fields = self
            .redis
            .bounded(connection.hmget(self.session_key(digest), &["u", "p", "i", "e"]))
            .await?;
        Ok(match (user, phone, expires) {
            (Some(user_id), Some(phone), Some(expires_at)) if expires_at > self.clock.now() => {
                Some(Session {
                    user_id,
                    phone_number: phone.into(),
                    // Written by us; a session from before the field existed has none.
                    invite_code: invite_code.and_then(|code| InviteCode::parse(&code).ok()),
                    expires_at,
                })
            }
            _ => None,
        })
    }

    async fn revoke(&self, digest: &Digest) -> Result<(), AuthError> {
        // The digest may linger in the user's set; LogoutAll counts only sessions that exist.
        let mut connection = self.redis.connection();
        self.redis
            .bounded(connection.del::<_, ()>(self.session_key(digest)))
            .await
    }

    async fn revoke_all(&self, user: UserId) -> Result<u32, AuthError> {
        let prefix = self.redis.key(&["session", ""]);
        let mut invocation = self.revoke_all.key(self.user_key(user));
        invocation.arg(prefix);
        let revoked: u32 = self
            .redis
            .bounded(invocation.invoke_async(&mut self.redis.connection()))
            .await?;
        Ok(revoked)
    }

    fn entry_count(&self) -> Option<u64> {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// The Redis of TEST_REDIS_URL under a fresh key prefix, or None (test skipped) without one.
    async fn redis() -> Option<Redis> {
        let url = std::env::var("TEST_REDIS_URL")
            .ok()
            .filter(|u| !u.is_empty())?;
        let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
        Some(
            Redis::connect(&url, &prefix, Duration::from_secs(2))
                .await
                .unwrap(),
        )
    }

    #[tokio::test]
    async fn a_newer_session_with_a_shorter_life_does_not_shorten_logout_all_s_reach() {
        let Some(redis) = redis().await else {
            return eprintln!("skipped: needs TEST_REDIS_URL");
        };
        let clock = Clock::System;
        let store = RedisSessionStore::new(redis.clone(), clock.clone());
        let session = |ttl| Session {
            user_id: 7,
            phone_number: "+79120000001".into(),
            invite_code: None,
            expires_at: clock.after(Duration::from_secs(ttl)),
        };
        store.create(Digest([1; 32]), session(3600)).await.unwrap();
        store.create(Digest([2; 32]), session(60)).await.unwrap();
        let ttl_ms: i64 = redis.connection().pttl(store.user_key(7)).await.unwrap();
        assert!(
            ttl_ms > 3_000_000,
            "the user's session set expires in {ttl_ms} ms, before its oldest session (1 h)"
        );
        assert_eq!(store.revoke_all(7).await.unwrap(), 2);
    }

    #[tokio::test]
    async fn a_session_keeps_its_invite_code_and_one_written_without_reads_back_without() {
        let Some(redis) = redis().await else {
            return eprintln!("skipped: needs TEST_REDIS_URL");
        };
        let clock = Clock::System;
        let store = RedisSessionStore::new(redis, clock.clone());
        let session = |invite_code| Session {
            user_id: 7,
            phone_number: "+79120000001".into(),
            invite_code,
            expires_at: clock.after(Duration::from_secs(60)),
        };
        let with_code = session(Some(InviteCode::parse("ABC234").unwrap()));
        store
            .create(Digest([1; 32]), with_code.clone())
            .await
            .unwrap();
        assert_eq!(store.get(&Digest([1; 32])).await.unwrap(), Some(with_code));
        // As a release before the field wrote it: Introspect then reads the profile instead.
        let without = session(None);
        store
            .create(Digest([2; 32]), without.clone())
            .await
            .unwrap();
        assert_eq!(store.get(&Digest([2; 32])).await.unwrap(), Some(without));
    }
}
