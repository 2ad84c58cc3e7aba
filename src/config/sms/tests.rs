use std::{collections::HashMap, time::Duration};

use crate::config::{Config, ConfigError, SmsProvider, TwilioFrom};

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const SERVICE: &str = "MG0123456789abcdef0123456789abcdef";
/// `whsec_` + base64 of 24 bytes.
const WEBHOOK_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut map: HashMap<String, String> = [("SECRET_KEY", "x".repeat(32))]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    map.extend(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Config::from_lookup(|name| map.get(name).cloned())
}

fn error_var(vars: &[(&str, &str)]) -> &'static str {
    config(vars).expect_err("the config must be refused").var
}

fn twilio(extra: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut vars = vec![
        ("SMS_PROVIDER", "Twilio"),
        ("TWILIO_ACCOUNT_SID", SID),
        ("TWILIO_AUTH_TOKEN", "token-123"),
    ];
    vars.extend_from_slice(extra);
    vars
}

#[test]
fn sms_defaults_are_console_the_plain_template_and_an_8_second_deadline() {
    let config = config(&[]).unwrap();
    assert!(matches!(config.sms_provider, SmsProvider::Console));
    assert_eq!(config.sms.template, "Your code: {code}");
    assert_eq!(config.sms.attempt_timeout, Duration::from_secs(5));
    assert_eq!(config.sms.deadline, Duration::from_secs(8));
}

#[test]
fn twilio_reads_its_credentials_sender_and_api_base() {
    let config = config(&twilio(&[("TWILIO_FROM", "+15005550006")])).unwrap();
    let SmsProvider::Twilio(settings) = &config.sms_provider else {
        panic!("not twilio: {:?}", config.sms_provider)
    };
    assert_eq!(settings.account_sid, SID);
    assert_eq!(settings.auth_token.expose(), "token-123");
    assert_eq!(settings.from, TwilioFrom::Sender("+15005550006".into()));
    assert_eq!(settings.api_base, "https://api.twilio.com");
    assert!(
        !format!("{config:?}").contains("token-123"),
        "Debug hides the auth token"
    );

    let vars = twilio(&[
        ("TWILIO_MESSAGING_SERVICE_SID", SERVICE),
        ("TWILIO_API_BASE", "http://127.0.0.1:9/"),
    ]);
    let SmsProvider::Twilio(settings) = config_of(&vars) else {
        panic!("not twilio")
    };
    assert_eq!(settings.from, TwilioFrom::MessagingService(SERVICE.into()));
    assert_eq!(settings.api_base, "http://127.0.0.1:9");
}

fn config_of(vars: &[(&str, &str)]) -> SmsProvider {
    config(vars).unwrap().sms_provider
}

#[test]
fn twilio_refuses_missing_or_malformed_settings_naming_the_variable() {
    assert_eq!(error_var(&twilio(&[])), "TWILIO_FROM");
    let both = twilio(&[
        ("TWILIO_FROM", "+15005550006"),
        ("TWILIO_MESSAGING_SERVICE_SID", SERVICE),
    ]);
    assert_eq!(error_var(&both), "TWILIO_FROM");
    let from = ("TWILIO_FROM", "+15005550006");
    let mut no_token = twilio(&[from]);
    no_token.retain(|(k, _)| *k != "TWILIO_AUTH_TOKEN");
    assert_eq!(error_var(&no_token), "TWILIO_AUTH_TOKEN");
    let mut bad_sid = twilio(&[from]);
    bad_sid[1].1 = "SK0123456789abcdef0123456789abcdef";
    assert_eq!(error_var(&bad_sid), "TWILIO_ACCOUNT_SID");
    let bad_service = twilio(&[("TWILIO_MESSAGING_SERVICE_SID", "MG123")]);
    assert_eq!(error_var(&bad_service), "TWILIO_MESSAGING_SERVICE_SID");
    let bad_base = twilio(&[from, ("TWILIO_API_BASE", "ftp://example.com")]);
    assert_eq!(error_var(&bad_base), "TWILIO_API_BASE");
}

#[test]
fn webhook_decodes_the_whsec_secret_and_requires_a_url() {
    let url = ("SMS_WEBHOOK_URL", "https://hooks.example.com/sms");
    let provider = config_of(&[
        ("SMS_PROVIDER", "webhook"),
        url,
        ("SMS_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ]);
    let SmsProvider::Webhook(webhook) = provider else {
        panic!("not webhook")
    };
    assert_eq!(webhook.url, "https://hooks.example.com/sms");
    assert_eq!(webhook.secret.expose().len(), 24);

    let secret = ("SMS_WEBHOOK_SECRET", WEBHOOK_SECRET);
    let provider = ("SMS_PROVIDER", "webhook");
    assert_eq!(error_var(&[provider, secret]), "SMS_WEBHOOK_URL");
    assert_eq!(error_var(&[provider, url]), "SMS_WEBHOOK_SECRET");
    for bad in [
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "whsec_c2hvcnQ=",
        "whsec_!!",
    ] {
        let error = config(&[provider, url, ("SMS_WEBHOOK_SECRET", bad)]).unwrap_err();
        assert_eq!(error.var, "SMS_WEBHOOK_SECRET");
        assert!(!error.to_string().contains(bad), "the secret is not echoed");
    }
}

#[test]
fn smsru_requires_an_api_id_and_defaults_the_api_base() {
    let provider = config_of(&[("SMS_PROVIDER", "smsru"), ("SMSRU_API_ID", "ABC-123")]);
    let SmsProvider::SmsRu(smsru) = provider else {
        panic!("not smsru")
    };
    assert_eq!(smsru.api_id.expose(), "ABC-123");
    assert_eq!(smsru.from, None);
    assert_eq!(smsru.api_base, "https://sms.ru");
    assert_eq!(error_var(&[("SMS_PROVIDER", "smsru")]), "SMSRU_API_ID");
}

#[test]
fn real_providers_still_require_secret_key() {
    let vars = HashMap::from([("SMS_PROVIDER", "smsru"), ("SMSRU_API_ID", "ABC-123")]);
    let error = Config::from_lookup(|name| vars.get(name).map(|v| v.to_string())).unwrap_err();
    assert_eq!(error.var, "SECRET_KEY");
}

#[test]
fn the_sms_deadline_must_end_before_the_request_timeout() {
    let smsru = [("SMS_PROVIDER", "smsru"), ("SMSRU_API_ID", "ABC-123")];
    let late = [smsru[0], smsru[1], ("SMS_DEADLINE_SECONDS", "10")];
    assert_eq!(error_var(&late), "SMS_DEADLINE_SECONDS");
    let shorter_call = [smsru[0], smsru[1], ("REQUEST_TIMEOUT_SECONDS", "8")];
    assert_eq!(error_var(&shorter_call), "SMS_DEADLINE_SECONDS");
    let fits = config(&[smsru[0], smsru[1], ("SMS_DEADLINE_SECONDS", "9.5")]).unwrap();
    assert_eq!(fits.sms.deadline, Duration::from_millis(9500));
    // The console sender makes no HTTP call, so the rule does not apply to it.
    assert!(config(&[("REQUEST_TIMEOUT_SECONDS", "2")]).is_ok());
}

#[test]
fn the_template_must_contain_the_code() {
    assert_eq!(error_var(&[("SMS_TEMPLATE", "Hello")]), "SMS_TEMPLATE");
    let template = "Код {code}, действует {minutes} мин";
    assert_eq!(
        config(&[("SMS_TEMPLATE", template)]).unwrap().sms.template,
        template
    );
    assert_eq!(
        error_var(&[("SMS_TIMEOUT_SECONDS", "0")]),
        "SMS_TIMEOUT_SECONDS"
    );
}

#[test]
fn real_senders_default_to_6_digit_codes_and_may_listen_on_any_address() {
    let smsru = [("SMS_PROVIDER", "smsru"), ("SMSRU_API_ID", "ABC-123")];
    let config = config(&[smsru[0], smsru[1], ("LISTEN_ADDR", "0.0.0.0:50051")]).unwrap();
    assert_eq!(config.code_length, 6);
    assert_eq!(config.startup_warnings(), []);
}

#[test]
fn a_real_sender_with_short_codes_warns_with_the_takeover_arithmetic() {
    let short = [
        ("SMS_PROVIDER", "smsru"),
        ("SMSRU_API_ID", "ABC-123"),
        ("CODE_LENGTH", "4"),
    ];
    let warnings = config(&short).unwrap().startup_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].level, tracing::Level::WARN);
    // The shipped budget: 1000 per hour, 5 tries per code.
    let expected = "24000 codes a day x 5 tries / 10^4 = about 12.00 takeovers a day (0.1200 \
                    with CODE_LENGTH=6)";
    assert!(warnings[0].message.contains(expected), "{warnings:?}");
}

#[test]
fn test_phone_codes_with_a_real_sender_are_an_error_in_the_log() {
    let vars = [
        ("SMS_PROVIDER", "smsru"),
        ("SMSRU_API_ID", "ABC-123"),
        ("TEST_PHONE_CODES", "+79990000001:123456"),
    ];
    let warnings = config(&vars).unwrap().startup_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].level, tracing::Level::ERROR);
    assert!(warnings[0].message.contains("TEST_PHONE_CODES"));
    assert!(
        !warnings[0].message.contains("123456"),
        "codes are not logged"
    );
}

#[test]
fn provider_urls_are_never_shown_with_their_password() {
    let vars = [
        ("SMS_PROVIDER", "webhook"),
        (
            "SMS_WEBHOOK_URL",
            "ftp://hook:hunter2@hooks.example.com/sms",
        ),
        ("SMS_WEBHOOK_SECRET", WEBHOOK_SECRET),
    ];
    let error = config(&vars).unwrap_err();
    assert_eq!(error.var, "SMS_WEBHOOK_URL");
    assert!(!error.to_string().contains("hunter2"), "{error}");
}
