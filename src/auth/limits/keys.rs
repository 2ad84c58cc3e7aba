//! The one place where the keys of rate-limit counters are built. Both stores (and the Redis
//! data of running deployments) depend on these exact strings: change one and every counter
//! under it starts from zero.
use super::{Limit, Subject};
use crate::domain::ClientAddr;

/// The key of the service-wide SMS budget.
const SMS_BUDGET: &str = "sms:global";

/// The key `limit` counts this call under: per client address (IPv6 per /64, see
/// [`ClientAddr::limit_key`]) or per IPv6 /56 ([`ClientAddr::site_limit_key`]), per phone or
/// user (the call's subject), per destination country, or service-wide. `None` when the limit
/// does not apply to the call: the /56 limits to an IPv4 client, which its address limit
/// already counts whole.
pub(super) fn key(limit: Limit, client: ClientAddr, subject: Subject) -> Option<String> {
    let site = || client.site_limit_key();
    Some(match limit {
        Limit::RequestCodePerAddress => format!("ip:RequestCode:{}", client.limit_key()),
        Limit::VerifyCodePerAddress => format!("ip:VerifyCode:{}", client.limit_key()),
        Limit::SetInviterPerAddress => format!("ip:SetInviter:{}", client.limit_key()),
        Limit::RequestCodePerSite => format!("ip:RequestCode:{}", site()?),
        Limit::VerifyCodePerSite => format!("ip:VerifyCode:{}", site()?),
        Limit::SetInviterPerSite => format!("ip:SetInviter:{}", site()?),
        Limit::CodesPerPhone => format!("sent:{subject}"),
        Limit::WrongCodesPerPhone => format!("wrong:{subject}"),
        Limit::SetInviterPerUser => format!("inviter:{subject}"),
        // A valid number always has a destination; anything else shares one strict counter.
        Limit::SmsBudgetPerCountry => match subject.destination() {
            Some(destination) => format!("sms:country:{destination}"),
            None => "sms:country:unknown".to_string(),
        },
        Limit::SmsBudget => SMS_BUDGET.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use phonenumber::country;

    use super::*;
    use crate::domain::PhoneNumber;

    #[test]
    fn keys_keep_the_formats_stored_counters_already_use() {
        let phone = PhoneNumber::parse("+14155550123", country::Id::US).unwrap();
        let phone = Subject::Phone(&phone);
        let v4 = ClientAddr("192.0.2.7".parse().unwrap());
        let v6 = ClientAddr("2001:db8:1:2:aaaa::1".parse().unwrap());
        let cases = [
            (Limit::RequestCodePerAddress, v4, "ip:RequestCode:192.0.2.7"),
            (Limit::VerifyCodePerAddress, v4, "ip:VerifyCode:192.0.2.7"),
            (
                Limit::RequestCodePerAddress,
                v6,
                "ip:RequestCode:2001:db8:1:2::/64",
            ),
            (Limit::CodesPerPhone, v4, "sent:+14155550123"),
            (Limit::WrongCodesPerPhone, v4, "wrong:+14155550123"),
            (Limit::SmsBudget, v4, "sms:global"),
        ];
        for (limit, client, expected) in cases {
            assert_eq!(key(limit, client, phone).unwrap(), expected, "{limit:?}");
        }
        let user = Subject::User(42);
        assert_eq!(
            key(Limit::SetInviterPerAddress, v4, user).unwrap(),
            "ip:SetInviter:192.0.2.7"
        );
        assert_eq!(
            key(Limit::SetInviterPerUser, v4, user).unwrap(),
            "inviter:user:42"
        );
    }

    #[test]
    fn ipv6_clients_are_also_counted_per_slash_56_and_ipv4_clients_only_once() {
        let phone = PhoneNumber::parse("+14155550123", country::Id::US).unwrap();
        let phone = Subject::Phone(&phone);
        let v6 = ClientAddr("2001:db8:1:2ff:aaaa::1".parse().unwrap());
        let cases = [
            (
                Limit::RequestCodePerSite,
                "ip:RequestCode:2001:db8:1:200::/56",
            ),
            (
                Limit::VerifyCodePerSite,
                "ip:VerifyCode:2001:db8:1:200::/56",
            ),
            (
                Limit::SetInviterPerSite,
                "ip:SetInviter:2001:db8:1:200::/56",
            ),
        ];
        for (limit, expected) in cases {
            assert_eq!(key(limit, v6, phone).unwrap(), expected, "{limit:?}");
            for v4 in ["192.0.2.7", "::ffff:192.0.2.7"] {
                let v4 = ClientAddr(v4.parse().unwrap());
                assert_eq!(key(limit, v4, phone), None, "{limit:?} {v4:?}");
            }
        }
    }

    #[test]
    fn the_country_budget_counts_per_region_and_per_international_network() {
        let key_of = |number: &str| {
            let phone = PhoneNumber::parse(number, country::Id::RU)
                .unwrap_or_else(|e| panic!("{number} {e}"));
            let client = ClientAddr("192.0.2.7".parse().unwrap());
            key(Limit::SmsBudgetPerCountry, client, Subject::Phone(&phone)).unwrap()
        };
        assert_eq!(key_of("+79123456789"), "sms:country:RU");
        assert_eq!(key_of("+77012345678"), "sms:country:KZ");
        assert_eq!(key_of("+447400123456"), "sms:country:GB");
        // So is +44: Guernsey's mobiles are not Britain's.
        assert_eq!(key_of("+447911123456"), "sms:country:GG");
        assert_eq!(key_of("+14155550123"), "sms:country:US");
        // +1 is shared by the US, Canada and the Caribbean: Jamaica has a budget of its own.
        assert_eq!(key_of("+18765550123"), "sms:country:JM");
        assert_eq!(key_of("+881612345678"), "sms:country:+881");
    }

    /// Keys built elsewhere would drift from these; this file is the only one allowed to
    /// spell a counter's prefix in a string literal.
    #[test]
    fn no_other_source_file_builds_a_limit_key() {
        let prefixes = ["\"ip:", "\"sent:", "\"wrong:", "\"sms:", "\"inviter:"];
        let this_file = Path::new(file!());
        let mut offenders = Vec::new();
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with(this_file)
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for prefix in prefixes.iter().filter(|p| text.contains(**p)) {
                        offenders.push(format!("{} spells {prefix}", path.display()));
                    }
                }
            }
        }
        assert!(offenders.is_empty(), "{offenders:#?}");
    }
}
