//! What an admitted call spent, as a value the caller can give back.
use std::sync::Arc;

use super::{Counter, Limit};
use crate::{domain::UnixMicros, store::RateLimits};

/// One hit recorded in a refundable counter.
struct Hit {
    limit: Limit,
    key: String,
    stamp: UnixMicros,
    /// Recorded by [`RateLimits::count`] (a fixed window) rather than [`RateLimits::hit`].
    fixed_window: bool,
}

/// The hits one admitted call spent. Dropping the charge keeps them spent; [`Charge::refund`]
/// gives every one of them back, for a call that did not happen after all. Token-bucket tokens
/// are not part of it: the address made the call whatever followed.
#[must_use = "a charge is either kept (dropped) or refunded; bind it to decide which"]
pub struct Charge {
    store: Arc<dyn RateLimits>,
    hits: Vec<Hit>,
}

impl Charge {
    pub(super) fn new(store: Arc<dyn RateLimits>) -> Self {
        Self {
            store,
            hits: Vec::new(),
        }
    }

    /// Adds the hit `stamp` that `limit` recorded under `key` in `counter`; a token bucket's
    /// is left out, as it is never given back.
    pub(super) fn add(&mut self, limit: Limit, counter: Counter, key: String, stamp: UnixMicros) {
        let fixed_window = match counter {
            Counter::Bucket { .. } => return,
            Counter::Log { .. } => false,
            Counter::FixedWindow { .. } => true,
        };
        self.hits.push(Hit {
            limit,
            key,
            stamp,
            fixed_window,
        });
    }

    /// Gives back exactly the hits this charge took. Failures are logged only: the caller
    /// already has the real error to report, and a lost refund errs on the strict side.
    pub async fn refund(self) {
        for Hit {
            limit,
            key,
            stamp,
            fixed_window,
        } in self.hits
        {
            let refunded = if fixed_window {
                self.store.uncount(&key, stamp).await
            } else {
                self.store.refund(&key, stamp).await
            };
            if let Err(error) = refunded {
                tracing::warn!(error = ?error, key, ?limit, "could not refund a rate-limit hit");
            }
        }
    }
}
