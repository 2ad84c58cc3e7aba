//! The built-in page in a real browser: tests/browser/flow.mjs drives headless Chromium
//! (Debian's package; no browser is ever downloaded) through the seed's whole flow against the
//! real server, and asserts what the page shows at each step.
//!
//! Needs node, /usr/bin/chromium (or $CHROMIUM) and `npm ci --prefix tests/browser`. Without
//! them the test is skipped with the reason printed, except under CI=true, where it fails:
//! .ci/run installs all three. `SCREENSHOTS_DIR=docs/screenshots` makes the flow write the
//! screenshots of docs/screenshots/.
use std::{
    io::{Read, Seek},
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use phone_auth::proto::ListUsersRequest;

use crate::helpers::{ADMIN_PHONE, TestApp, authed, phone};

const REPO: &str = env!("CARGO_MANIFEST_DIR");
const FLOW: &str = "tests/browser/flow.mjs";
/// Longer than the flow's own watchdog (120 s), which reports where it hung.
const FLOW_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::test]
async fn two_users_log_in_invite_and_log_out_through_the_page_in_chromium() {
    if let Some(missing) = missing_tooling() {
        assert!(
            !under_ci(),
            "{missing}: under CI=true the browser test must run (.ci/run installs what it needs)"
        );
        eprintln!("skipped: {missing}");
        return;
    }
    // The settings flow.mjs expects: codes shown on the page; a third code for one phone
    // refused (the flow shows the refusal; A logs in twice); resends without a pause.
    let app = TestApp::spawn_with(&[("SMS_PROVIDER", "console"), ("CODES_PER_PHONE", "2")]).await;
    let url = format!("http://{}", app.addr);
    let (passed, output) = tokio::task::spawn_blocking(move || run_flow(&url))
        .await
        .expect("the flow's thread");
    assert!(passed, "{FLOW} failed:\n{output}");
    println!("{output}");

    // What the page showed is what the server holds: B (phone 2) invited by A (phone 1).
    let admin = app.login(ADMIN_PHONE).await;
    let users = app
        .client
        .clone()
        .list_users(authed(&admin.token, ListUsersRequest::default()))
        .await
        .expect("ListUsers")
        .into_inner()
        .users;
    let user = |phone: &str| {
        users
            .iter()
            .find(|user| user.phone_number == phone)
            .unwrap_or_else(|| panic!("{phone} is not a user: {users:?}"))
    };
    let (a, b) = (user(&phone(1)), user(&phone(2)));
    assert_eq!(a.referral_count, 1);
    assert_eq!(b.invited_by, a.invite_code);
    assert_eq!(b.referral_count, 0);
}

/// Runs the flow against `url`; whether it passed, and everything it printed.
fn run_flow(url: &str) -> (bool, String) {
    // One file for stdout and stderr in order, and no pipe to fill up while we wait.
    let mut log = tempfile::tempfile().expect("a temp file");
    let output = || Stdio::from(log.try_clone().expect("the log file, again"));
    let mut node = Command::new("node")
        .arg(FLOW)
        .arg(url)
        .current_dir(REPO)
        .stdin(Stdio::null())
        .stdout(output())
        .stderr(output())
        .spawn()
        .expect("node starts");
    let deadline = Instant::now() + FLOW_TIMEOUT;
    let passed = loop {
        if let Some(status) = node.try_wait().expect("node's status") {
            break status.success();
        }
        if Instant::now() > deadline {
            let _ = node.kill();
            let _ = node.wait();
            break false;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut printed = String::new();
    log.rewind().expect("rewind the log");
    log.read_to_string(&mut printed).expect("read the log");
    (passed, printed)
}

/// What the browser test needs and is not there, if anything.
fn missing_tooling() -> Option<String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|output| output.status.success()) {
        return Some("node is not installed".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Some(format!("{chromium} is missing (apt-get install chromium)"));
    }
    let playwright = Path::new(REPO).join("tests/browser/node_modules/playwright-core");
    if !playwright.join("package.json").exists() {
        return Some("playwright-core is not installed (npm ci --prefix tests/browser)".into());
    }
    None
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| matches!(value.trim(), "1" | "true" | "TRUE" | "yes"))
}
