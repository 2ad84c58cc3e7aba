//! The settings of the wider limits: derived defaults and strict parsing of the overrides.
use std::collections::HashMap;

use phonenumber::country;

use super::{LimitsConfig, SmsDestination};
use crate::config::{ConfigError, env::Env};

fn limits(vars: &[(&str, &str)]) -> Result<LimitsConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    LimitsConfig::from_env(&Env(&|name| map.get(name).cloned()))
}

#[test]
fn the_wider_limits_default_to_documented_multiples_of_the_narrower_ones() {
    let defaults = limits(&[]).unwrap();
    assert_eq!(defaults.sms_budget_per_country, 300);
    assert!(defaults.sms_budget_overrides.is_empty());
    assert_eq!(
        (
            defaults.request_code_per_ipv6_56_burst,
            defaults.request_code_per_ipv6_56_per_minute
        ),
        (40, 40.0)
    );
    assert_eq!(
        (
            defaults.verify_code_per_ipv6_56_burst,
            defaults.verify_code_per_ipv6_56_per_minute
        ),
        (80, 120.0)
    );
    assert_eq!(
        (
            defaults.set_inviter_per_ipv6_56_burst,
            defaults.set_inviter_per_ipv6_56_per_minute
        ),
        (40, 20.0)
    );

    // A deployment that raised its limits keeps the same proportions without new settings.
    let raised = limits(&[
        ("SMS_BUDGET_PER_WINDOW", "50000"),
        ("REQUEST_CODE_PER_IP_BURST", "1000000000"),
        ("VERIFY_CODE_PER_IP_PER_MINUTE", "2.5"),
    ])
    .unwrap();
    assert_eq!(raised.sms_budget_per_country, 15_000);
    assert_eq!(raised.request_code_per_ipv6_56_burst, 4_000_000_000);
    assert_eq!(raised.verify_code_per_ipv6_56_per_minute, 10.0);
    // Rounded up, so that a tiny budget never gives a country none.
    assert_eq!(
        limits(&[("SMS_BUDGET_PER_WINDOW", "2")])
            .unwrap()
            .sms_budget_per_country,
        1
    );
}

#[test]
fn country_overrides_name_regions_or_international_networks() {
    let config = limits(&[
        ("SMS_BUDGET_PER_COUNTRY_PER_WINDOW", "50"),
        ("SMS_BUDGET_COUNTRY_OVERRIDES", " ru:800, GB : 100 ,+882:5,"),
    ])
    .unwrap();
    let ru = SmsDestination::Region(country::Id::RU);
    assert_eq!(config.sms_budget_toward(ru), 800);
    assert_eq!(
        config.sms_budget_toward(SmsDestination::Region(country::Id::GB)),
        100
    );
    assert_eq!(config.sms_budget_toward(SmsDestination::Network(882)), 5);
    assert_eq!(
        config.sms_budget_toward(SmsDestination::Region(country::Id::KZ)),
        50
    );
    assert_eq!(ru.to_string(), "RU");
    assert_eq!(SmsDestination::Network(882).to_string(), "+882");
}

#[test]
fn a_malformed_override_is_refused_naming_the_variable() {
    for bad in [
        "RU",     // no budget
        "RU:",    // empty budget
        "RU:0",   // a budget of nothing
        "RU:-5",  // negative
        "RU:1.5", // not an integer
        "RU:1000000001",
        "ZZ:10",       // not a region
        "+7:800",      // a calling code of regions: name the regions
        "+99999:1",    // no such calling code
        "RU:10,ru:20", // named twice
        "RU:10;GB:20", // wrong separator
    ] {
        let error = limits(&[("SMS_BUDGET_COUNTRY_OVERRIDES", bad)]).unwrap_err();
        assert_eq!(error.var, "SMS_BUDGET_COUNTRY_OVERRIDES", "{bad}");
        assert_eq!(error.value, bad);
    }
    for (var, bad) in [
        ("SMS_BUDGET_PER_COUNTRY_PER_WINDOW", "0"),
        ("REQUEST_CODE_PER_IPV6_56_BURST", "0"),
        ("VERIFY_CODE_PER_IPV6_56_PER_MINUTE", "-1"),
        ("SET_INVITER_PER_IPV6_56_BURST", "many"),
    ] {
        assert_eq!(limits(&[(var, bad)]).unwrap_err().var, var);
    }
}
