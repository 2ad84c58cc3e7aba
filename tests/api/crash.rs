//! SIGKILL under a registration load (issues #11 and #13): every user whose VerifyCode
//! answered, and every link whose SetInviter answered, is there after a restart on the same
//! database, and the database is consistent.
//!
//! On SQLite the server runs in WAL mode with synchronous=NORMAL: a commit is written to the
//! WAL file, that is to the operating system, before it is answered, but it is not fsynced. A
//! killed process loses nothing the operating system holds, so no answered write may be lost
//! here; only a power loss or a kernel crash could drop the last commits, which this test,
//! killing a process, does not (and cannot) show. On PostgreSQL a commit is durable before it
//! is answered, whatever happens to our process.
mod database;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use phone_auth::proto::{
    RequestCodeRequest, SetInviterRequest, VerifyCodeRequest,
    auth_service_client::AuthServiceClient,
};
use tonic::transport::Channel;

use crate::helpers::{Backing, ServerProcess, authed, phone};

/// Kill rounds per test; each restarts the server on the database the last one left.
const ROUNDS: u32 = 3;
/// Concurrent registration loops, each on its own connection.
const LOADERS: u32 = 8;
/// The kill lands at a random moment in this window after the load starts (milliseconds).
const KILL_AFTER_MS: std::ops::Range<u64> = 300..1500;
/// How long the loaders have to notice the kill and stop.
const STOP_WITHIN: Duration = Duration::from_secs(10);
/// Every third new user names an inviter, so that the graph has links to keep.
const LINK_EVERY: u32 = 3;
/// Users answered last before each kill that log in again through the restarted server.
const LOGINS_CHECKED_PER_ROUND: usize = 8;

/// What the server answered for one new user before it was killed.
#[derive(Clone, Debug)]
pub struct Acknowledged {
    pub user_id: i64,
    pub phone: String,
    pub invite_code: String,
    /// The inviter's id and code, when SetInviter answered OK.
    pub inviter: Option<(i64, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sigkill_during_registrations_loses_no_answered_user_or_link() {
    let backing = Backing::fresh().await;
    let mut server = ServerProcess::start(&backing, &[]).await;
    let mut acknowledged: Vec<Acknowledged> = Vec::new();
    for round in 0..ROUNDS {
        let kill_after = Duration::from_millis(rand::random_range(KILL_AFTER_MS));
        let answered = load_then_kill(server, round, &acknowledged, kill_after).await;
        let links = answered.iter().filter(|a| a.inviter.is_some()).count();
        eprintln!(
            "round {round}: killed after {kill_after:?}, {} users and {links} links answered",
            answered.len()
        );
        assert!(
            !answered.is_empty(),
            "round {round}: no VerifyCode answered before the kill, so the round shows nothing"
        );
        acknowledged.extend(answered.iter().cloned());

        server = ServerProcess::start(&backing, &[]).await;
        database::assert_consistent_and_holding(&backing, &acknowledged).await;
        let last = answered.len().saturating_sub(LOGINS_CHECKED_PER_ROUND);
        for user in &answered[last..] {
            assert_logs_in_as_before(&server.client, user).await;
        }
    }
    server.kill();
    assert!(
        acknowledged.iter().any(|user| user.inviter.is_some()),
        "no SetInviter answered in any round, so no link was put to the test"
    );
}

/// Runs the registration loops against `server`, kills it with SIGKILL after `kill_after`,
/// and returns what it answered. Inviters are drawn from `earlier` and from this round's users.
async fn load_then_kill(
    server: ServerProcess,
    round: u32,
    earlier: &[Acknowledged],
    kill_after: Duration,
) -> Vec<Acknowledged> {
    let killed = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(Mutex::new(earlier.to_vec()));
    let loaders: Vec<_> = (0..LOADERS)
        .map(|loader| {
            let first_phone = 1_000_000 * (round + 1) + 100_000 * loader;
            let client = server.client.clone();
            tokio::spawn(register_until_killed(
                client,
                first_phone,
                answered.clone(),
                killed.clone(),
            ))
        })
        .collect();
    // A real sleep: the kill must land in the middle of the load, at a moment the server does
    // not choose, and no clock of ours reaches into another process.
    tokio::time::sleep(kill_after).await;
    // Set before the signal: a loader that sees an error and then this flag unset has seen the
    // live server fail, not the kill.
    killed.store(true, Ordering::SeqCst);
    server.kill();
    for loader in loaders {
        tokio::time::timeout(STOP_WITHIN, loader)
            .await
            .expect("the loaders stop once the server is gone")
            .expect("a loader panicked");
    }
    let answered = answered.lock().unwrap();
    answered[earlier.len()..].to_vec()
}

/// Registers new phones one after another (and links every LINK_EVERY-th one to an earlier
/// user) until a call fails, which must be because the server was killed.
async fn register_until_killed(
    mut client: AuthServiceClient<Channel>,
    first_phone: u32,
    answered: Arc<Mutex<Vec<Acknowledged>>>,
    killed: Arc<AtomicBool>,
) {
    let failed = |what: &str, status: tonic::Status| {
        assert!(
            killed.load(Ordering::SeqCst),
            "{what} failed while the server was alive: {status:?}"
        );
    };
    for n in first_phone.. {
        let phone = phone(n);
        let code = match client
            .request_code(RequestCodeRequest {
                phone_number: phone.clone(),
            })
            .await
        {
            Ok(response) => response.into_inner().debug_code,
            Err(status) => return failed("RequestCode", status),
        };
        let login = match client
            .verify_code(VerifyCodeRequest {
                phone_number: phone.clone(),
                verification_code: code,
            })
            .await
        {
            Ok(response) => response.into_inner(),
            Err(status) => return failed("VerifyCode", status),
        };
        let profile = login.profile.expect("VerifyCode returns the profile");
        assert!(login.created, "{phone} is new, so VerifyCode creates it");
        let mut user = Acknowledged {
            user_id: profile.user_id,
            phone: profile.phone_number,
            invite_code: profile.invite_code,
            inviter: None,
        };
        let inviter = (n % LINK_EVERY == 0)
            .then(|| {
                let answered = answered.lock().unwrap();
                let pick = rand::random_range(0..answered.len().max(1));
                answered.get(pick).cloned()
            })
            .flatten();
        // Pushed after its own SetInviter, so no one links to a user who is linking: no cycle.
        if let Some(inviter) = inviter {
            let linked = client
                .set_inviter(authed(
                    &login.session_token,
                    SetInviterRequest {
                        invited_by: inviter.invite_code.clone(),
                    },
                ))
                .await;
            match linked {
                Ok(profile) => {
                    assert_eq!(profile.into_inner().invited_by, inviter.invite_code);
                    user.inviter = Some((inviter.user_id, inviter.invite_code));
                }
                Err(status) => {
                    answered.lock().unwrap().push(user);
                    return failed("SetInviter", status);
                }
            }
        }
        answered.lock().unwrap().push(user);
        if killed.load(Ordering::SeqCst) {
            return;
        }
    }
}

/// A new login of `user` through the restarted server finds the same account: not created, the
/// same id, invite code and (when SetInviter answered) inviter.
async fn assert_logs_in_as_before(client: &AuthServiceClient<Channel>, user: &Acknowledged) {
    let mut client = client.clone();
    let code = client
        .request_code(RequestCodeRequest {
            phone_number: user.phone.clone(),
        })
        .await
        .expect("RequestCode after the restart")
        .into_inner()
        .debug_code;
    let login = client
        .verify_code(VerifyCodeRequest {
            phone_number: user.phone.clone(),
            verification_code: code,
        })
        .await
        .expect("VerifyCode after the restart")
        .into_inner();
    let profile = login.profile.expect("VerifyCode returns the profile");
    assert!(
        !login.created,
        "{} was registered again: {user:?}",
        user.phone
    );
    assert_eq!(profile.user_id, user.user_id, "{user:?}");
    assert_eq!(profile.invite_code, user.invite_code, "{user:?}");
    if let Some((_, inviter_code)) = &user.inviter {
        assert_eq!(&profile.invited_by, inviter_code, "{user:?}");
    }
}
