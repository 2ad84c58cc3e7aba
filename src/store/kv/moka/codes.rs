//! Pending codes on a single node: a moka cache whose entries expire at their own deadline.
use async_trait::async_trait;
use moka::{ops::compute::Op, sync::Cache};

use super::expiry::{Expires, deadline_cache};
use crate::{
    domain::{AuthError, Clock, Digest, UnixMicros},
    store::{CodeCheck, CodeStore, PendingCode},
};

impl Expires for PendingCode {
    fn expires_at(&self) -> UnixMicros {
        self.expires_at
    }
}

/// The single-node store: a moka cache whose entries expire at their own deadline.
pub struct MokaCodeStore {
    cache: Cache<String, PendingCode>,
    clock: Clock,
}

impl MokaCodeStore {
    pub fn new(max_entries: u64, clock: Clock) -> Self {
        Self {
            cache: deadline_cache(max_entries, clock.clone()),
            clock,
        }
    }
}

#[async_trait]
impl CodeStore for MokaCodeStore {
    async fn put(&self, phone: &str, code: PendingCode) -> Result<(), AuthError> {
        self.cache.insert(phone.to_owned(), code);
        Ok(())
    }

    async fn check(&self, phone: &str, digest: Digest) -> Result<CodeCheck, AuthError> {
        let mut outcome = CodeCheck::Missing;
        let now = self.clock.now();
        // The closure runs under moka's per-key lock, which makes check-and-consume atomic.
        self.cache.entry_by_ref(phone).and_compute_with(|entry| {
            match entry.map(|e| e.into_value()) {
                None => Op::Nop,
                Some(pending) if pending.expires_at <= now => Op::Remove,
                Some(pending) if pending.digest == digest => {
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
            }
        });
        Ok(outcome)
    }

    fn entry_count(&self) -> Option<u64> {
        Some(self.cache.entry_count())
    }
}
