//! The limiter against the real single-node store: all-or-nothing admission and exact refunds.
use std::{
    collections::{HashMap, HashSet},
    sync::Arc,
    time::Duration,
};

use phonenumber::country;

use super::*;
use crate::store::MokaRateLimits;

const HOUR: Duration = Duration::from_secs(3600);
/// A fixed window so long that no test run crosses one of its boundaries.
const FOREVER: Duration = Duration::from_secs(1 << 32);

fn config(codes_per_phone: u32, resend_interval: Duration, sms_budget: u32) -> LimitsConfig {
    LimitsConfig {
        resend_interval,
        codes_per_phone,
        codes_per_phone_window: HOUR,
        wrong_codes_per_phone: 1,
        wrong_codes_window: HOUR,
        request_code_per_ip_burst: 100,
        request_code_per_ip_per_minute: 0.001,
        verify_code_per_ip_burst: 100,
        verify_code_per_ip_per_minute: 0.001,
        request_code_per_ipv6_56_burst: 1000,
        request_code_per_ipv6_56_per_minute: 0.001,
        verify_code_per_ipv6_56_burst: 1000,
        verify_code_per_ipv6_56_per_minute: 0.001,
        sms_budget,
        sms_budget_window: FOREVER,
        sms_budget_per_country: 1_000_000,
        sms_budget_overrides: HashMap::new(),
        set_inviter_per_user: 2,
        set_inviter_per_user_window: HOUR,
        set_inviter_per_ip_burst: 100,
        set_inviter_per_ip_per_minute: 0.001,
        set_inviter_per_ipv6_56_burst: 1000,
        set_inviter_per_ipv6_56_per_minute: 0.001,
        mask_referral_phones: false,
        trusted_proxies: Vec::new(),
    }
}

fn phone(e164: &str) -> PhoneNumber {
    PhoneNumber::parse(e164, country::Id::US).unwrap()
}

fn client(n: u8) -> ClientAddr {
    ClientAddr([192, 0, 2, n].into())
}

fn limiter(config: LimitsConfig, test_phones: &[&str]) -> (Limiter, Arc<MokaRateLimits>) {
    let clock = Clock::manual();
    let store = Arc::new(MokaRateLimits::new(1000, clock.clone()));
    let test_phones: HashSet<String> = test_phones.iter().map(|p| p.to_string()).collect();
    (
        Limiter::new(store.clone(), config, test_phones, clock),
        store,
    )
}

/// Whether the phone's sent-codes log holds no hit: a probe with a limit of one is admitted.
async fn no_code_counted(store: &MokaRateLimits, phone: &PhoneNumber) -> bool {
    let key = keys::key(Limit::CodesPerPhone, client(0), Subject::Phone(phone)).unwrap();
    let probe = store.hit(&key, 1, HOUR, Duration::ZERO).await.unwrap();
    if let Admission::Allowed { stamp } = probe {
        store.refund(&key, stamp).await.unwrap();
    }
    matches!(probe, Admission::Allowed { .. })
}

fn assert_throttled(result: Result<Charge, AuthError>, message: &str) {
    match result {
        Err(AuthError::Throttled { message: got, .. }) => {
            assert!(got.starts_with(&format!("{message}; retry in ")), "{got}")
        }
        Err(other) => panic!("expected {message:?}, got {other:?}"),
        Ok(_) => panic!("expected {message:?}, the call was admitted"),
    }
}

/// Asserts that the SMS budget whose metric label is `label` refused the call.
#[track_caller]
fn assert_spent(result: Result<Charge, AuthError>, label: &str) {
    match result {
        Err(AuthError::SmsBudgetSpent {
            budget,
            retry_after,
        }) => {
            assert_eq!(budget, label);
            assert!(retry_after > Duration::ZERO);
        }
        Err(other) => panic!("expected the {label} refusal, got {other:?}"),
        Ok(_) => panic!("expected the {label} refusal, the call was admitted"),
    }
}

#[track_caller]
fn assert_budget_spent(result: Result<Charge, AuthError>) {
    assert_spent(result, "sms_budget");
}

#[tokio::test]
async fn a_refused_second_limit_refunds_the_first() {
    let (limiter, store) = limiter(config(5, HOUR, 1), &[]);
    let (first, second) = (phone("+14155550101"), phone("+14155550102"));
    let _kept = limiter
        .admit(Rpc::RequestCode, client(1), Subject::Phone(&first))
        .await
        .unwrap();

    let refused = limiter
        .admit(Rpc::RequestCode, client(1), Subject::Phone(&second))
        .await;

    assert_budget_spent(refused);
    assert!(
        no_code_counted(&store, &second).await,
        "the per-phone hit was kept"
    );
    assert!(
        !no_code_counted(&store, &first).await,
        "the probe cannot see a kept hit"
    );
}

#[tokio::test]
async fn a_refund_frees_exactly_the_slots_its_charge_took() {
    let (limiter, _) = limiter(config(2, Duration::ZERO, 2), &[]);
    let (first, second) = (phone("+14155550101"), phone("+14155550102"));
    let admit = |phone| limiter.admit(Rpc::RequestCode, client(1), Subject::Phone(phone));
    let _kept = admit(&first).await.unwrap();
    let refunded = admit(&first).await.unwrap();
    assert_throttled(admit(&first).await, "too many codes sent to this number");

    refunded.refund().await;

    let _kept_again = admit(&first).await.unwrap();
    assert_throttled(admit(&first).await, "too many codes sent to this number");
    assert_budget_spent(admit(&second).await);
}

#[tokio::test]
async fn a_refunded_verification_frees_its_wrong_code_slot() {
    let (limiter, _) = limiter(config(5, HOUR, 10), &[]);
    let phone = phone("+14155550101");
    let admit = || limiter.admit(Rpc::VerifyCode, client(1), Subject::Phone(&phone));
    let accepted = admit().await.unwrap();
    assert_throttled(admit().await, "too many wrong codes for this number");

    accepted.refund().await;

    let _wrong = admit().await.unwrap();
    assert_throttled(admit().await, "too many wrong codes for this number");
}

#[tokio::test]
async fn test_numbers_skip_the_sms_limits_but_not_the_address_bucket() {
    let config = LimitsConfig {
        request_code_per_ip_burst: 3,
        ..config(1, HOUR, 1)
    };
    let (limiter, store) = limiter(config, &["+14155550199"]);
    let test_number = phone("+14155550199");
    for _ in 0..3 {
        let _ = limiter
            .admit(Rpc::RequestCode, client(1), Subject::Phone(&test_number))
            .await
            .unwrap();
    }
    assert_throttled(
        limiter
            .admit(Rpc::RequestCode, client(1), Subject::Phone(&test_number))
            .await,
        "too many RequestCode calls from your network address",
    );
    assert!(no_code_counted(&store, &test_number).await);
    let real = phone("+14155550101");
    let _budget_untouched = limiter
        .admit(Rpc::RequestCode, client(2), Subject::Phone(&real))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_code_within_the_resend_interval_is_refused_as_a_cooldown() {
    let (limiter, _) = limiter(config(5, HOUR, 10), &[]);
    let phone = phone("+14155550101");
    let _sent = limiter
        .admit(Rpc::RequestCode, client(1), Subject::Phone(&phone))
        .await
        .unwrap();
    assert_throttled(
        limiter
            .admit(Rpc::RequestCode, client(2), Subject::Phone(&phone))
            .await,
        "a code was just sent to this number",
    );
}

#[tokio::test]
async fn set_inviter_is_limited_per_user_whatever_the_address() {
    let (limiter, _) = limiter(config(5, HOUR, 10), &[]);
    let admit = |user, n| limiter.admit(Rpc::SetInviter, client(n), Subject::User(user));
    let _first = admit(7, 1).await.unwrap();
    let _second = admit(7, 2).await.unwrap();
    assert_throttled(
        admit(7, 3).await,
        "too many SetInviter calls for this account",
    );
    let _other_user = admit(8, 3).await.unwrap();
}

#[tokio::test]
async fn a_spent_country_budget_refuses_only_its_country_and_spends_no_global_slot() {
    let config = LimitsConfig {
        sms_budget_per_country: 2,
        ..config(5, Duration::ZERO, 3)
    };
    let (limiter, _) = limiter(config, &[]);
    let (ru, uk) = (phone("+79123456789"), phone("+447400123456"));
    let admit = |phone| limiter.admit(Rpc::RequestCode, client(1), Subject::Phone(phone));
    let _first = admit(&ru).await.unwrap();
    let _second = admit(&ru).await.unwrap();
    for _ in 0..3 {
        assert_spent(admit(&ru).await, "sms_budget_per_country");
    }
    // The refusals held no slot of the service-wide budget of 3: one is left for the UK.
    let _uk = admit(&uk).await.unwrap();
    assert_budget_spent(admit(&phone("+14155550101")).await);
}

#[tokio::test]
async fn an_override_gives_one_country_its_own_budget() {
    let config = LimitsConfig {
        sms_budget_per_country: 1,
        sms_budget_overrides: HashMap::from([(SmsDestination::Region(country::Id::RU), 3)]),
        ..config(5, Duration::ZERO, 100)
    };
    let (limiter, _) = limiter(config, &[]);
    let admit = |phone| limiter.admit(Rpc::RequestCode, client(1), Subject::Phone(phone));
    let ru = phone("+79123456789");
    for _ in 0..3 {
        let _sent = admit(&ru).await.unwrap();
    }
    assert_spent(admit(&ru).await, "sms_budget_per_country");
    let kz = phone("+77012345678");
    let _kz = admit(&kz).await.unwrap();
    assert_spent(admit(&kz).await, "sms_budget_per_country");
}

#[tokio::test]
async fn the_slash_64s_of_one_slash_56_share_a_bucket_and_ipv4_pays_once() {
    let config = LimitsConfig {
        request_code_per_ip_burst: 2,
        request_code_per_ipv6_56_burst: 3,
        ..config(100, Duration::ZERO, 100)
    };
    let (limiter, _) = limiter(config, &[]);
    let phone = phone("+14155550101");
    let admit = |client: &str| {
        let client = ClientAddr(client.parse().unwrap());
        limiter.admit(Rpc::RequestCode, client, Subject::Phone(&phone))
    };
    let _a = admit("2001:db8:1:200::1").await.unwrap();
    let _b = admit("2001:db8:1:201::1").await.unwrap();
    let _c = admit("2001:db8:1:202::1").await.unwrap();
    assert_throttled(
        admit("2001:db8:1:203::1").await,
        "too many RequestCode calls from your network (IPv6 /56)",
    );
    let _next_site = admit("2001:db8:1:300::1").await.unwrap();
    // An IPv4 address has its burst of 2 and no second bucket to spend before it.
    let _v4 = admit("192.0.2.1").await.unwrap();
    let _v4 = admit("192.0.2.1").await.unwrap();
    assert_throttled(
        admit("192.0.2.1").await,
        "too many RequestCode calls from your network address",
    );
}

#[tokio::test]
async fn every_rpc_with_an_address_limit_also_counts_the_slash_56() {
    let config = LimitsConfig {
        request_code_per_ipv6_56_burst: 2,
        verify_code_per_ipv6_56_burst: 2,
        set_inviter_per_ipv6_56_burst: 2,
        wrong_codes_per_phone: 100,
        set_inviter_per_user: 100,
        ..config(100, Duration::ZERO, 100)
    };
    let (limiter, _) = limiter(config, &[]);
    let phone = phone("+14155550101");
    for (rpc, subject, name) in [
        (Rpc::RequestCode, Subject::Phone(&phone), "RequestCode"),
        (Rpc::VerifyCode, Subject::Phone(&phone), "VerifyCode"),
        (Rpc::SetInviter, Subject::User(7), "SetInviter"),
    ] {
        let admit = |client: &str| limiter.admit(rpc, ClientAddr(client.parse().unwrap()), subject);
        let _a = admit("2001:db8:1:200::1").await.unwrap();
        let _b = admit("2001:db8:1:201::1").await.unwrap();
        assert_throttled(
            admit("2001:db8:1:202::1").await,
            &format!("too many {name} calls from your network (IPv6 /56)"),
        );
    }
}
