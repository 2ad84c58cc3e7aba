//! Connection URLs with their passwords hidden, for every error message and log line that
//! shows REDIS_URL or DATABASE_URL (or an SMS provider's URL).

/// What a hidden password is shown as.
const HIDDEN: &str = "****";

/// `url` with the password of its userinfo shown as `****`, e.g. `redis://:****@host:6379`.
///
/// Works on malformed URLs too, since those are the ones that end up in error messages: the
/// userinfo runs to the *last* `@`, so a password holding an unescaped `/`, `?`, `#` or `@` is
/// hidden whole. When in doubt more is hidden (an `@` in a query hides up to it), never less.
pub fn redact_password(url: &str) -> String {
    match password_span(url) {
        Some((start, end)) => format!("{}{HIDDEN}{}", &url[..start], &url[end..]),
        None => url.to_owned(),
    }
}

/// `text` (an error message from a driver given `url`) with `url`'s password replaced by
/// `****`, as written in the URL and percent-decoded, wherever it occurs.
pub fn scrub_password(text: &str, url: &str) -> String {
    let Some((start, end)) = password_span(url) else {
        return text.to_owned();
    };
    let written = &url[start..end];
    let decoded = percent_decoded(written);
    let mut text = text.replace(written, HIDDEN);
    if !decoded.is_empty() {
        text = text.replace(&decoded, HIDDEN);
    }
    text
}

/// Byte range of the password: after the first `:` of the userinfo, which runs from the
/// scheme's `//` (or the start) to the last `@`. `None` when there is no password.
fn password_span(url: &str) -> Option<(usize, usize)> {
    let authority = url.find("://").map_or(0, |i| i + 3);
    let at = authority + url[authority..].rfind('@')?;
    let colon = authority + url[authority..at].find(':')?;
    (colon + 1 < at).then_some((colon + 1, at))
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_and_the_rest_is_kept() {
        for (url, shown) in [
            (
                "redis://:hunter2@cache:6379/0",
                "redis://:****@cache:6379/0",
            ),
            (
                "rediss://app:hunter2@cache:6380",
                "rediss://app:****@cache:6380",
            ),
            (
                "postgres://app:hunter2@db/auth?sslmode=require",
                "postgres://app:****@db/auth?sslmode=require",
            ),
            // Malformed: an unescaped '/', '#' or '@' in the password is hidden whole.
            ("redis://:hun/ter#2@cache", "redis://:****@cache"),
            ("postgres://app:p@ss@db/auth", "postgres://app:****@db/auth"),
            ("redis:/:hunter2@cache", "redis:****@cache"),
            // Nothing to hide.
            ("redis://cache:6379", "redis://cache:6379"),
            ("postgres://app@db/auth", "postgres://app@db/auth"),
            (
                "sqlite://phone-auth.db?mode=rwc",
                "sqlite://phone-auth.db?mode=rwc",
            ),
        ] {
            assert_eq!(redact_password(url), shown, "{url}");
        }
    }

    #[test]
    fn driver_messages_lose_the_password_as_written_and_decoded() {
        let url = "postgres://app:p%40ss%2Fword@db/auth";
        let message = format!("cannot connect to {url}: bad password p@ss/word");
        let scrubbed = scrub_password(&message, url);
        assert!(
            !scrubbed.contains("p%40ss") && !scrubbed.contains("p@ss"),
            "{scrubbed}"
        );
        assert!(
            scrubbed.contains("postgres://app:****@db/auth"),
            "{scrubbed}"
        );
        assert_eq!(
            scrub_password("no url here", "redis://cache"),
            "no url here"
        );
    }
}
