//! A rate-limit counter as the single-node store keeps it: 16 bytes in its hash table slot, 32
//! with the key, and nothing on the heap for a log of one hit, which is what most phones hold
//! (one code asked for in the window). `loadgen store-memory` counts 86 B per phone, table
//! included, where a boxed slice of hits beside a 64-bit deadline (a 48-byte slot and a heap
//! block for every log) cost 114 B.
//!
//! Only what is rarer goes to the heap: a log of two or more hits, a log whose deadline the
//! compact form cannot hold exactly, and a token bucket (per address, far fewer than phones).
use smallvec::SmallVec;

use super::expiry::Expires;
use crate::domain::UnixMicros;

/// The hits of a sliding log, oldest first. Two inline: a log that outgrows one hit mostly
/// stops at two (a resend), and then its heap block is one allocation.
pub type Stamps = SmallVec<[UnixMicros; 2]>;

#[derive(Clone, Debug, PartialEq)]
pub enum Counter {
    /// A log of one hit that ends a whole number of milliseconds after it (every window and gap
    /// configured in seconds or milliseconds, up to 49 days). The deadline is kept exactly:
    /// `stamp + lasts_ms × 1000`.
    One {
        stamp: UnixMicros,
        lasts_ms: u32,
    },
    /// Any other log.
    Many(Box<Log>),
    Bucket(Box<Bucket>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Log {
    pub stamps: Stamps,
    pub expires_at: UnixMicros,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Bucket {
    pub tokens: f64,
    pub at: UnixMicros,
    pub expires_at: UnixMicros,
}

impl Counter {
    /// The log of `stamps` (unique, oldest first) ending at `expires_at`, in its smallest form;
    /// `None` for an empty log, which carries nothing.
    pub fn log(stamps: Stamps, expires_at: UnixMicros) -> Option<Self> {
        match stamps[..] {
            [] => None,
            [stamp] => Some(one(stamp, expires_at).unwrap_or_else(|| many(stamps, expires_at))),
            _ => Some(many(stamps, expires_at)),
        }
    }

    /// The hits of a log; none for a bucket (a key counts one way or the other).
    pub fn into_stamps(self) -> Stamps {
        match self {
            Counter::One { stamp, .. } => SmallVec::from_buf_and_len([stamp, 0], 1),
            Counter::Many(log) => log.stamps,
            Counter::Bucket(_) => Stamps::new(),
        }
    }

    /// The counter with the hit at `stamp` taken out of its log (a bucket is left as it is).
    /// The deadline stays: a refund gives a slot back, it does not shorten the memory of the
    /// others. `None` once the log is empty, so that the entry is freed now, not at expiry.
    pub fn without(self, stamp: UnixMicros) -> Option<Self> {
        match self {
            Counter::Bucket(_) => Some(self),
            log => {
                let expires_at = log.expires_at();
                let mut stamps = log.into_stamps();
                stamps.retain(|t| *t != stamp);
                Counter::log(stamps, expires_at)
            }
        }
    }
}

fn one(stamp: UnixMicros, expires_at: UnixMicros) -> Option<Counter> {
    let lasts = expires_at.checked_sub(stamp)?;
    if lasts % 1000 != 0 {
        return None;
    }
    let lasts_ms = u32::try_from(lasts / 1000).ok()?;
    Some(Counter::One { stamp, lasts_ms })
}

fn many(mut stamps: Stamps, expires_at: UnixMicros) -> Counter {
    // A log that shrank back (hits aging out, a refund) gives back its spare room.
    stamps.shrink_to_fit();
    Counter::Many(Box::new(Log { stamps, expires_at }))
}

impl Expires for Counter {
    fn expires_at(&self) -> UnixMicros {
        match self {
            Counter::One { stamp, lasts_ms } => stamp + i64::from(*lasts_ms) * 1000,
            Counter::Many(log) => log.expires_at,
            Counter::Bucket(bucket) => bucket.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use smallvec::smallvec;

    use super::*;

    const T: UnixMicros = 1_700_000_000_000_000;
    const HOUR: UnixMicros = 3_600_000_000;

    #[test]
    fn a_counter_takes_16_bytes_and_its_slot_32() {
        assert_eq!(size_of::<Counter>(), 16);
        assert_eq!(size_of::<(u128, Counter)>(), 32);
    }

    #[test]
    fn a_log_of_one_hit_stays_inline_with_its_exact_deadline() {
        let counter = Counter::log(smallvec![T], T + HOUR).unwrap();
        assert!(matches!(counter, Counter::One { .. }), "{counter:?}");
        assert_eq!(counter.expires_at(), T + HOUR);
        assert_eq!(counter.into_stamps().as_slice(), [T]);
        // A 49-day span is the most the compact form holds.
        let days_49 = i64::from(u32::MAX) * 1000;
        assert!(matches!(
            Counter::log(smallvec![T], T + days_49),
            Some(Counter::One { .. })
        ));
    }

    #[test]
    fn a_deadline_the_compact_form_cannot_hold_goes_to_the_heap_exactly() {
        let days_50 = 50 * 86_400_000_000;
        for expires_at in [T + HOUR + 1, T + days_50, T - 1] {
            let counter = Counter::log(smallvec![T], expires_at).unwrap();
            assert!(matches!(counter, Counter::Many(_)), "{counter:?}");
            assert_eq!(counter.expires_at(), expires_at);
        }
    }

    #[test]
    fn a_log_goes_from_one_hit_to_two_and_back_by_refund_keeping_its_deadline() {
        let one = Counter::log(smallvec![T], T + HOUR).unwrap();
        let mut stamps = one.into_stamps();
        stamps.push(T + 60_000_000);
        let two = Counter::log(stamps, T + 60_000_000 + HOUR).unwrap();
        assert!(matches!(two, Counter::Many(_)), "{two:?}");
        // Refunding the newest hit leaves the older one under the later deadline, inline again.
        let back = two.without(T + 60_000_000).unwrap();
        assert_eq!(
            back,
            Counter::One {
                stamp: T,
                lasts_ms: 3_660_000
            }
        );
        assert_eq!(back.without(T), None, "an emptied log is freed");
    }

    #[test]
    fn a_log_of_many_hits_keeps_them_in_order_and_refunds_only_its_own() {
        let stamps: Stamps = (0..100).map(|i| T + i).collect();
        let log = Counter::log(stamps, T + 99 + HOUR).unwrap();
        let log = log.without(T + 50).unwrap().without(T + 1_000).unwrap();
        assert_eq!(log.expires_at(), T + 99 + HOUR);
        let left = log.into_stamps();
        assert_eq!(left.len(), 99);
        assert!(left.windows(2).all(|w| w[0] < w[1]) && !left.contains(&(T + 50)));
    }

    #[test]
    fn a_bucket_is_no_log_and_a_refund_leaves_it_alone() {
        let bucket = Counter::Bucket(Box::new(Bucket {
            tokens: 2.5,
            at: T,
            expires_at: T + 5_000_000,
        }));
        assert_eq!(bucket.expires_at(), T + 5_000_000);
        assert_eq!(bucket.clone().without(T), Some(bucket.clone()));
        assert!(bucket.into_stamps().is_empty());
    }
}
