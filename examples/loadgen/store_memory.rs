//! Bytes per entry of each in-memory store, measured in this process (no gRPC, no database):
//! `n` entries into each store in turn, RSS read before and after. Explains the server's RSS.
use std::{collections::HashMap, time::Duration};

use phone_auth::{
    domain::{Clock, Digest, InviteCode},
    store::{
        CodeStore, MokaCodeStore, MokaRateLimits, MokaSessionStore, PendingCode, RateLimits,
        Session, SessionStore,
    },
};

use crate::{
    moka_floor,
    scenarios::mix,
    seed::{PENDING, SEEDED, phone},
    server::rss_bytes,
};

/// The capacity the server gives each store (src/startup/stores.rs).
pub const MAX_ENTRIES: u64 = 5_000_000;

fn digest(i: u64) -> Digest {
    let mut bytes = [0u8; 32];
    for (k, chunk) in bytes.chunks_mut(8).enumerate() {
        chunk.copy_from_slice(&mix(i * 4 + k as u64).to_le_bytes());
    }
    Digest(bytes)
}

/// Prints one line per store: `name bytes_per_entry`.
pub async fn run(n: u64) -> anyhow::Result<Vec<(String, f64)>> {
    let pid = std::process::id();
    let mut results = Vec::new();
    let mut last = rss_bytes(pid)?;
    let mut step = |name: &str, results: &mut Vec<(String, f64)>| -> anyhow::Result<()> {
        let now = rss_bytes(pid)?;
        let per = (now as f64 - last as f64) / n as f64;
        println!("{name:<60} {per:>7.0} B/entry");
        results.push((name.to_owned(), per));
        last = now;
        Ok(())
    };
    let clock = Clock::System;
    let in_5_min = clock.now() + 300_000_000;
    let in_30_days = clock.now() + 30 * 86_400_000_000;

    let codes = MokaCodeStore::new(MAX_ENTRIES, Duration::from_secs(300), clock.clone());
    for i in 0..n {
        let code = PendingCode {
            digest: digest(i),
            attempts_left: 5,
            expires_at: in_5_min,
        };
        codes.put(&phone(PENDING, i), code).await?;
    }
    step(
        "pending code (MokaCodeStore: phone → HMAC, tries)",
        &mut results,
    )?;
    // The store keeps a code packed in 32 bytes (src/store/kv/moka/packed.rs).
    let code_floor = moka_floor::fill::<u64, 24>(n, |i| 79_140_000_000 + i);
    step(
        "moka's floor for it: an 8 B key, a 32 B value",
        &mut results,
    )?;

    let sessions =
        MokaSessionStore::new(MAX_ENTRIES, Duration::from_secs(30 * 86_400), clock.clone());
    for i in 0..n {
        let session = Session {
            user_id: i as i64 + 1,
            phone_number: phone(SEEDED, i).into(),
            invite_code: Some(InviteCode::generate()),
            expires_at: in_30_days,
        };
        sessions.create(digest(n + i), session).await?;
    }
    step(
        "session (MokaSessionStore: digest → session, + per-user index)",
        &mut results,
    )?;
    // The store keeps a session packed into 32 bytes (src/store/kv/moka/packed.rs).
    let session_floor = moka_floor::fill::<u128, 24>(n, |i| u128::from(mix(3 * n + i)) << 64);
    step(
        "moka's floor for it: a 16 B key, a 32 B value",
        &mut results,
    )?;

    let limits = MokaRateLimits::new(MAX_ENTRIES, clock.clone());
    for i in 0..n {
        limits
            .hit(
                &format!("sent:{}", phone(PENDING, i)),
                1_000_000,
                Duration::from_secs(3600),
                Duration::from_secs(60),
            )
            .await?;
    }
    step(
        "RequestCode's per-phone log (MokaRateLimits `sent:`, hourly cap and resend cooldown)",
        &mut results,
    )?;
    for i in 0..n {
        let key = format!("wrong:{}", phone(SEEDED, i));
        if let phone_auth::store::Admission::Allowed { stamp } = limits
            .hit(&key, 1_000_000, Duration::from_secs(86_400), Duration::ZERO)
            .await?
        {
            limits.refund(&key, stamp).await?;
        }
    }
    step(
        "VerifyCode's wrong-code budget after a correct code (`wrong:`, refunded)",
        &mut results,
    )?;

    // The floor: the same session data in a plain HashMap.
    let mut plain: HashMap<[u8; 32], Session> = HashMap::new();
    for i in 0..n {
        let session = Session {
            user_id: i as i64,
            phone_number: phone(SEEDED, i).into(),
            invite_code: Some(InviteCode::generate()),
            expires_at: in_30_days,
        };
        plain.insert(digest(2 * n + i).0, session);
    }
    step(
        "for comparison: the session data in a std HashMap",
        &mut results,
    )?;
    drop((codes, sessions, limits, plain, code_floor, session_floor));
    Ok(results)
}
