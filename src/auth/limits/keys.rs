//! The one place where the keys of rate-limit counters are built. Both stores (and the Redis
//! data of running deployments) depend on these exact strings: change one and every counter
//! under it starts from zero.
use super::{Limit, Subject};
use crate::domain::ClientAddr;

/// The key of the service-wide SMS budget.
const SMS_BUDGET: &str = "sms:global";

/// The key `limit` counts this call under: per client address (IPv6 per /64, see
/// [`ClientAddr::limit_key`]), per phone or user (the call's subject), or service-wide.
pub(super) fn key(limit: Limit, client: ClientAddr, subject: Subject) -> String {
    match limit {
        Limit::RequestCodePerAddress => format!("ip:RequestCode:{}", client.limit_key()),
        Limit::VerifyCodePerAddress => format!("ip:VerifyCode:{}", client.limit_key()),
        Limit::SetInviterPerAddress => format!("ip:SetInviter:{}", client.limit_key()),
        Limit::CodesPerPhone => format!("sent:{subject}"),
        Limit::WrongCodesPerPhone => format!("wrong:{subject}"),
        Limit::SetInviterPerUser => format!("inviter:{subject}"),
        Limit::SmsBudget => SMS_BUDGET.to_string(),
    }
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
            assert_eq!(key(limit, client, phone), expected, "{limit:?}");
        }
        let user = Subject::User(42);
        assert_eq!(
            key(Limit::SetInviterPerAddress, v4, user),
            "ip:SetInviter:192.0.2.7"
        );
        assert_eq!(key(Limit::SetInviterPerUser, v4, user), "inviter:user:42");
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
