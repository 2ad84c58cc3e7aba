//! The calls of other services (issue #14): SessionService/Introspect and Envoy's ext_authz
//! Check, each with a live session round robin over 1,000 users, as rows of the SQLite run with
//! their ratio to Health/Check on the same server. `--only services` runs just these rows and
//! their servers' Check, on the SQLite run's database.
use std::sync::Arc;

use super::{
    throughput::{main_seed, profile_sessions},
    *,
};

/// Issue #14's bench rows: Introspect ≥ 0.8 × Check, ext_authz Check ≥ 0.7 × Check.
const INTROSPECT_TARGET: f64 = 0.8;
const EXT_AUTHZ_TARGET: f64 = 0.7;

/// The services rows alone: a server with the profile cache off (Introspect reads the invite
/// code from SQL, as on a server without the in-process cache), then one as deployed on a
/// single node, each with its own Check.
pub(super) async fn services_only(opts: &Opts, report: &mut Report) -> anyhow::Result<()> {
    eprintln!("== SQLite: the calls of other services");
    let (url, _) = fresh_sqlite(opts, "main", &main_seed(opts)).await?;

    let mut b = Bench::start(
        opts,
        &spec_without_cache(opts, "sqlite-nocache", url.clone()),
    )
    .await?;
    let db = "SQLite, USER_CACHE_MB=0";
    b.check(report, db).await;
    let sessions = Arc::new(profile_sessions(&b).await?);
    introspect_without_cache(&b, report, db, sessions).await;
    b.stop().await?;

    let mut b = Bench::start(opts, &spec(opts, "sqlite", url)).await?;
    let db = "SQLite";
    b.check(report, db).await;
    let sessions = Arc::new(profile_sessions(&b).await?);
    measure(&b, report, db, sessions).await;
    b.stop().await
}

/// Introspect and ext_authz Check on a server with the profile cache on (the default), the rows
/// issue #14 sets targets for.
pub(super) async fn measure(
    b: &Bench<'_>,
    report: &mut Report,
    db: &str,
    sessions: Arc<Vec<Bearer>>,
) {
    let m = b
        .measure(
            "Introspect (1,000 sessions)",
            &|_| scenarios::introspect(sessions.clone()),
            u64::MAX,
        )
        .await;
    report.throughput(
        "SessionService/Introspect, 1,000 sessions",
        db,
        m,
        b.ceiling,
        Some(INTROSPECT_TARGET),
    );
    let m = b
        .measure(
            "ext_authz Check (1,000 sessions)",
            &|_| scenarios::ext_authz_check(sessions.clone()),
            u64::MAX,
        )
        .await;
    report.throughput(
        "envoy.service.auth.v3.Authorization/Check (ext_authz), 1,000 sessions",
        db,
        m,
        b.ceiling,
        Some(EXT_AUTHZ_TARGET),
    );
}

/// Introspect on a server with the profile cache off: every call reads the user's invite code
/// from SQL. No target: it shows what the cache saves (ext_authz Check reads no SQL either way).
pub(super) async fn introspect_without_cache(
    b: &Bench<'_>,
    report: &mut Report,
    db: &str,
    sessions: Arc<Vec<Bearer>>,
) {
    let m = b
        .measure(
            "Introspect (1,000 sessions, cache off)",
            &|_| scenarios::introspect(sessions.clone()),
            u64::MAX,
        )
        .await;
    report.throughput(
        "SessionService/Introspect, 1,000 sessions, no cache",
        db,
        m,
        b.ceiling,
        None,
    );
}
