//! Pending codes on a single node: a moka cache; each code carries its deadline, which `check`
//! judges, and moka frees it one CODE_TTL_SECONDS after its last write.
use std::time::Duration;

use async_trait::async_trait;
use moka::{ops::compute::Op, sync::Cache};

use super::{
    expiry::ttl_cache,
    packed::{PackedCode, phone_key},
};
use crate::{
    domain::{AuthError, Clock, Digest},
    store::{CodeCheck, CodeStore, PendingCode},
};

/// The single-node store.
pub struct MokaCodeStore {
    /// Keyed by the phone's digits as an integer (no heap block per key).
    cache: Cache<u64, PackedCode>,
    clock: Clock,
}

impl MokaCodeStore {
    /// `ttl`: how long a code lives (CODE_TTL_SECONDS); moka frees it that long after its last
    /// write.
    pub fn new(max_entries: u64, ttl: Duration, clock: Clock) -> Self {
        Self {
            cache: ttl_cache(max_entries, ttl),
            clock,
        }
    }
}

#[async_trait]
impl CodeStore for MokaCodeStore {
    async fn put(&self, phone: &str, code: PendingCode) -> Result<(), AuthError> {
        // Through the same per-key compute as `check`, not `insert`: moka orders computes only
        // among themselves, so an insert landing inside a running check would be overwritten
        // by it (a wrong guess writing the old code back, a right one deleting the new code).
        self.cache
            .entry(phone_key(phone)?)
            .and_compute_with(|_| Op::Put(PackedCode::pack(&code)));
        Ok(())
    }

    async fn check(&self, phone: &str, digest: Digest) -> Result<CodeCheck, AuthError> {
        let mut outcome = CodeCheck::Missing;
        let now = self.clock.now();
        // The closure runs under moka's per-key lock, which makes check-and-consume atomic.
        self.cache
            .entry(phone_key(phone)?)
            .and_compute_with(|entry| match entry.map(|e| e.into_value()) {
                None => Op::Nop,
                Some(pending) if pending.expires_at <= now => Op::Remove,
                Some(pending) if pending.matches(&digest) => {
                    outcome = CodeCheck::Accepted;
                    Op::Remove
                }
                Some(mut pending) => {
                    pending.attempts_left = pending.attempts_left.saturating_sub(1);
                    outcome = CodeCheck::Rejected {
                        attempts_left: pending.attempts_left,
                    };
                    if pending.attempts_left == 0 {
                        Op::Remove
                    } else {
                        Op::Put(pending)
                    }
                }
            });
        Ok(outcome)
    }

    fn entry_count(&self) -> Option<u64> {
        Some(self.cache.entry_count())
    }

    fn remove_expired(&self) {
        self.cache.run_pending_tasks();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    fn pending(byte: u8, clock: &Clock) -> PendingCode {
        PendingCode {
            digest: Digest([byte; 32]),
            attempts_left: 5,
            expires_at: clock.after(Duration::from_secs(300)),
        }
    }

    /// The pending-codes gauge reads `entry_count`: after the codes expire and no write
    /// follows, it must fall to zero once expired entries are removed (the probe does so).
    #[test]
    fn expired_codes_leave_the_count_when_expired_entries_are_removed() {
        let clock = Clock::manual();
        let store = MokaCodeStore::new(1_000, Duration::from_millis(20), clock.clone());
        for n in 0..100u32 {
            let code = PendingCode {
                expires_at: clock.after(Duration::from_millis(20)),
                ..pending(1, &clock)
            };
            futures::executor::block_on(store.put(&format!("+7912{n:07}"), code)).unwrap();
        }
        store.remove_expired();
        assert_eq!(store.entry_count(), Some(100));
        // moka expires entries on its own monotonic timer, which only real time moves, and its
        // timer wheel's finest level spans about a second.
        std::thread::sleep(Duration::from_millis(1300));
        store.remove_expired();
        assert_eq!(store.entry_count(), Some(0), "the count went stale");
    }

    /// A resend lands while a wrong guess is being judged. Whatever the order, the code sent
    /// last must be the one that counts: a guess may not write the old code back over it.
    #[test]
    fn a_resend_racing_a_wrong_guess_is_never_undone() {
        let clock = Clock::manual();
        let store = Arc::new(MokaCodeStore::new(
            1_000,
            Duration::from_secs(300),
            clock.clone(),
        ));
        let (old, new, wrong) = (pending(1, &clock), pending(2, &clock), Digest([9; 32]));
        for round in 0..2_000 {
            let phone = format!("+7912{round:07}");
            futures::executor::block_on(store.put(&phone, old.clone())).unwrap();
            let start = Arc::new(Barrier::new(2));
            let guess = std::thread::spawn({
                let (store, start, phone) = (store.clone(), start.clone(), phone.clone());
                move || {
                    start.wait();
                    futures::executor::block_on(store.check(&phone, wrong)).unwrap()
                }
            });
            start.wait();
            futures::executor::block_on(store.put(&phone, new.clone())).unwrap();
            guess.join().unwrap();
            assert_eq!(
                futures::executor::block_on(store.check(&phone, new.digest)).unwrap(),
                CodeCheck::Accepted,
                "round {round}: the resent code was undone by a racing wrong guess"
            );
        }
    }
}
