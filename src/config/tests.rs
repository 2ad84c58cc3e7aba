//! Reading settings: defaults, validation, and one-line errors.
use super::*;

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let vars: std::collections::HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_lookup(|name| vars.get(name).cloned())
}

#[test]
fn defaults_start_a_development_server() {
    let config = config(&[]).unwrap();
    assert!(config.secret_key_is_ephemeral);
    assert_eq!(config.listen_addr.to_string(), "127.0.0.1:50051");
    assert_eq!(config.code_length, 4);
    assert_eq!(config.code_ttl, Duration::from_secs(300));
    assert_eq!(config.session_ttl, Duration::from_secs(2_592_000));
    assert_eq!(config.default_region, country::RU);
    assert_eq!(config.stores.database_url, DEFAULT_DATABASE_URL);
    assert!(config.stores.redis_url.is_none());
    assert!(config.allowed_international_networks.is_empty());
    assert_eq!(
        config.startup_warnings(),
        [],
        "README's `cargo run` starts quietly"
    );
}

#[test]
fn bad_values_name_the_variable_and_what_it_accepts() {
    let err = config(&[("CODE_LENGTH", "3")]).unwrap_err();
    assert_eq!(err.var, "CODE_LENGTH");
    assert_eq!(
        err.to_string(),
        "invalid CODE_LENGTH=\"3\": expected an integer from 4 to 8"
    );
    assert_eq!(
        config(&[("DEFAULT_REGION", "XX")]).unwrap_err().var,
        "DEFAULT_REGION"
    );
    assert_eq!(
        config(&[("LISTEN_ADDR", "nope")]).unwrap_err().var,
        "LISTEN_ADDR"
    );
    assert_eq!(
        config(&[("SECRET_KEY", "short")]).unwrap_err().var,
        "SECRET_KEY"
    );
    assert_eq!(
        config(&[("ADMIN_PHONES", "+79123456789,abc")])
            .unwrap_err()
            .var,
        "ADMIN_PHONES"
    );
    assert_eq!(
        config(&[("SMS_PROVIDER", "pigeon")]).unwrap_err().var,
        "SMS_PROVIDER"
    );
}

#[test]
fn abuse_limits_default_to_the_documented_values() {
    let limits = config(&[]).unwrap().limits;
    assert_eq!(limits.resend_interval, Duration::from_secs(60));
    assert_eq!(
        (limits.codes_per_phone, limits.codes_per_phone_window),
        (5, Duration::from_secs(3600))
    );
    assert_eq!(
        (limits.wrong_codes_per_phone, limits.wrong_codes_window),
        (10, Duration::from_secs(86_400))
    );
    assert_eq!(
        (limits.sms_budget, limits.sms_budget_window),
        (1000, Duration::from_secs(3600))
    );
    assert!(limits.trusted_proxies.is_empty());
}

#[test]
fn abuse_settings_are_validated() {
    assert_eq!(
        config(&[("TRUSTED_PROXIES", "10.0.0.0/8,nope")])
            .unwrap_err()
            .var,
        "TRUSTED_PROXIES"
    );
    assert_eq!(
        config(&[("ALLOWED_REGIONS", "RU,ZZ")]).unwrap_err().var,
        "ALLOWED_REGIONS"
    );
    // Fixed codes must have CODE_LENGTH digits.
    assert_eq!(
        config(&[("TEST_PHONE_CODES", "+79990000001:123456")])
            .unwrap_err()
            .var,
        "TEST_PHONE_CODES"
    );
    assert_eq!(
        config(&[("TLS_CERT_FILE", "cert.pem")]).unwrap_err().var,
        "TLS_KEY_FILE"
    );
    assert_eq!(
        config(&[("RESEND_INTERVAL_SECONDS", "-1")])
            .unwrap_err()
            .var,
        "RESEND_INTERVAL_SECONDS"
    );
    let fractional = config(&[("WRONG_CODES_WINDOW_SECONDS", "0.25")]).unwrap();
    assert_eq!(
        fractional.limits.wrong_codes_window,
        Duration::from_millis(250)
    );
    let codes = config(&[("TEST_PHONE_CODES", "8 999 000 00 01:1234")])
        .unwrap()
        .test_phone_codes;
    assert_eq!(codes["+79990000001"].expose(), "1234");
}

#[test]
fn admin_phones_are_read_in_the_default_region() {
    let config = config(&[("ADMIN_PHONES", "8 (912) 345-67-89, +1 650 253 0000")]).unwrap();
    assert!(config.admin_phones.contains("+79123456789"));
    assert!(config.admin_phones.contains("+16502530000"));
}

#[test]
fn the_console_sender_refuses_to_listen_where_other_machines_can_reach_it() {
    for addr in [
        "0.0.0.0:50051",
        "[::]:50051",
        "192.0.2.10:50051",
        "[2001:db8::1]:50051",
    ] {
        let err = config(&[("LISTEN_ADDR", addr)]).unwrap_err();
        assert_eq!(err.var, "LISTEN_ADDR", "{addr}");
        let message = err.to_string();
        for what in [
            "SMS_PROVIDER",
            "debug_code",
            "DANGEROUSLY_EXPOSE_DEBUG_CODES=true",
        ] {
            assert!(message.contains(what), "{message:?} lacks {what:?}");
        }
    }
    for addr in [
        "127.0.0.1:50051",
        "127.1.2.3:0",
        "[::1]:50051",
        "[::ffff:127.0.0.1]:0",
    ] {
        let config = config(&[("LISTEN_ADDR", addr)]).unwrap();
        assert_eq!(config.startup_warnings(), [], "{addr}");
    }
}

#[test]
fn the_loudly_named_setting_exposes_debug_codes_with_an_error_at_start() {
    let exposed = [
        ("LISTEN_ADDR", "0.0.0.0:50051"),
        ("DANGEROUSLY_EXPOSE_DEBUG_CODES", "TRUE"),
    ];
    let warnings = config(&exposed).unwrap().startup_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].level, tracing::Level::ERROR);
    assert!(
        warnings[0].message.contains("0.0.0.0:50051"),
        "{warnings:?}"
    );
    let yes = [("DANGEROUSLY_EXPOSE_DEBUG_CODES", "yes")];
    assert_eq!(
        config(&yes).unwrap_err().var,
        "DANGEROUSLY_EXPOSE_DEBUG_CODES"
    );
}

#[test]
fn redis_without_secret_key_is_refused_saying_why() {
    let err = config(&[("REDIS_URL", "redis://127.0.0.1:6379")]).unwrap_err();
    assert_eq!(err.var, "SECRET_KEY");
    assert!(err.to_string().contains("every instance"), "{err}");
    let key = ("SECRET_KEY", "k".repeat(32));
    let shared = config(&[("REDIS_URL", "redis://127.0.0.1:6379"), (key.0, &key.1)]).unwrap();
    assert!(!shared.secret_key_is_ephemeral);
}

#[test]
fn an_administrator_cannot_have_a_fixed_test_code() {
    let err = config(&[
        ("ADMIN_PHONES", "+79990000002, +79990000001"),
        (
            "TEST_PHONE_CODES",
            "+79990000003:1111, 8 999 000 00 01:1234",
        ),
    ])
    .unwrap_err();
    assert_eq!(err.var, "TEST_PHONE_CODES");
    assert!(err.to_string().contains("+79990000001"), "{err}");
    assert!(
        !err.to_string().contains("1234"),
        "the code is not echoed: {err}"
    );
    assert!(err.to_string().contains("ADMIN_PHONES"), "{err}");
}

#[test]
fn international_networks_are_served_only_when_named() {
    let allowed = config(&[("ALLOWED_INTERNATIONAL_NETWORKS", "+881, 882")]).unwrap();
    assert_eq!(
        allowed.allowed_international_networks,
        HashSet::from([881, 882])
    );
    for bad in ["+7", "+1", "satellite", "+99999"] {
        assert_eq!(
            config(&[("ALLOWED_INTERNATIONAL_NETWORKS", bad)])
                .unwrap_err()
                .var,
            "ALLOWED_INTERNATIONAL_NETWORKS",
            "{bad}"
        );
    }
}

#[test]
fn connection_urls_are_never_shown_with_their_password() {
    let key = "k".repeat(32);
    let err = config(&[
        ("SECRET_KEY", &key),
        ("REDIS_URL", "http://:hunter2@cache:6379"),
    ])
    .unwrap_err();
    assert_eq!(err.var, "REDIS_URL");
    assert!(!err.to_string().contains("hunter2"), "{err}");
    assert!(err.to_string().contains("http://:****@cache:6379"), "{err}");

    let config = config(&[
        ("SECRET_KEY", &key),
        ("REDIS_URL", "rediss://app:hunter2@cache:6380"),
        ("DATABASE_URL", "postgres://app:hunter2@db/auth"),
    ])
    .unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("rediss://app:****@cache:6380"), "{debug}");
    assert!(debug.contains("postgres://app:****@db/auth"), "{debug}");
}
