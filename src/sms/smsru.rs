//! `SMS_PROVIDER=smsru`: SMS.ru's `POST /sms/send` with `json=1`. SMS.ru answers HTTP 200 even
//! on errors, so the verdict comes from `status_code` in the body, for the request as a whole
//! and then for the one number.
use std::collections::HashMap;

use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;

use super::{
    SmsError, SmsMessage, SmsSender,
    delivery::{Delivery, Verdict},
};
use crate::config::{SmsConfig, SmsRuSettings};

/// SMS.ru's codes that mean "try again later": 220 (service temporarily unavailable) and
/// 500 (server error). Every other error code is about the request, the account or the number.
const TRANSIENT_CODES: [i64; 2] = [220, 500];

/// Sends through SMS.ru; success is `status: OK` for the request and for the number.
#[derive(Debug)]
pub struct SmsRuSender {
    settings: SmsRuSettings,
    url: String,
    delivery: Delivery,
}

/// The request's or one number's result.
#[derive(Deserialize)]
struct Answer {
    status: String,
    status_code: Option<i64>,
    status_text: Option<String>,
    sms_id: Option<String>,
    /// Per-number results, keyed by the number's digits (top level only).
    #[serde(default)]
    sms: HashMap<String, Answer>,
}

impl SmsRuSender {
    pub fn new(settings: SmsRuSettings, config: &SmsConfig) -> anyhow::Result<Self> {
        let url = format!("{}/sms/send", settings.api_base);
        Ok(Self {
            settings,
            url,
            delivery: Delivery::new("smsru", config)?,
        })
    }
}

#[async_trait]
impl SmsSender for SmsRuSender {
    fn name(&self) -> &'static str {
        "smsru"
    }

    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let to = message.phone.as_e164().trim_start_matches('+');
        let mut form = vec![
            ("api_id", self.settings.api_id.expose().as_str()),
            ("to", to),
            ("msg", message.text.as_str()),
            ("json", "1"),
        ];
        if let Some(from) = &self.settings.from {
            form.push(("from", from));
        }
        let build = |client: &reqwest::Client| client.post(&self.url).form(&form);
        self.delivery
            .send(build, |status, body| read(status, body, to))
            .await
    }
}

/// Reads SMS.ru's answer for the number `to` (digits only).
fn read(status: StatusCode, body: &[u8], to: &str) -> Verdict {
    if !status.is_success() {
        return Verdict::from_status(status);
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        return Verdict::MaybeSent(format!("HTTP {status} without an SMS.ru JSON answer"));
    };
    if answer.status != "OK" {
        return by_code(&answer, "request");
    }
    let number = match answer.sms.get(to) {
        Some(number) => number,
        None if answer.sms.len() == 1 => answer.sms.values().next().expect("one entry"),
        None => return Verdict::MaybeSent("no result for the number".into()),
    };
    match number.status.as_str() {
        "OK" => Verdict::Accepted(number.sms_id.clone()),
        _ => by_code(number, "number"),
    }
}

fn by_code(answer: &Answer, scope: &str) -> Verdict {
    let why = format!(
        "SMS.ru {scope} status_code {}: {}",
        answer.status_code.map_or("?".into(), |c| c.to_string()),
        answer.status_text.as_deref().unwrap_or("")
    );
    match answer.status_code {
        Some(code) if TRANSIENT_CODES.contains(&code) => Verdict::Retry(why),
        _ => Verdict::Rejected(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TO: &str = "79123456789";

    fn read_ok(body: &str) -> Verdict {
        read(StatusCode::OK, body.as_bytes(), TO)
    }

    #[test]
    fn an_ok_for_the_number_is_accepted_with_its_sms_id() {
        let body = r#"{"status": "OK", "status_code": 100, "sms": {"79123456789":
            {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}}, "balance": 4122.56}"#;
        assert_eq!(
            read_ok(body),
            Verdict::Accepted(Some("000000-10000000".into()))
        );
    }

    #[test]
    fn request_and_number_errors_are_refused_unless_smsru_says_try_later() {
        let wrong_key =
            r#"{"status": "ERROR", "status_code": 200, "status_text": "Неправильный api_id"}"#;
        assert_eq!(
            read_ok(wrong_key),
            Verdict::Rejected("SMS.ru request status_code 200: Неправильный api_id".into())
        );
        let no_money =
            r#"{"status": "ERROR", "status_code": 201, "status_text": "Не хватает средств"}"#;
        assert!(matches!(read_ok(no_money), Verdict::Rejected(_)));
        let bad_number = r#"{"status": "OK", "status_code": 100, "sms": {"79123456789":
            {"status": "ERROR", "status_code": 202, "status_text": "Неправильно указан номер"}}}"#;
        assert!(
            matches!(read_ok(bad_number), Verdict::Rejected(why) if why.contains("number status_code 202"))
        );
        for transient in [220, 500] {
            let body =
                format!(r#"{{"status": "ERROR", "status_code": {transient}, "status_text": "x"}}"#);
            assert!(matches!(read_ok(&body), Verdict::Retry(_)), "{transient}");
        }
    }

    #[test]
    fn an_answer_that_cannot_be_read_is_not_retried() {
        assert!(matches!(read_ok("<html>"), Verdict::MaybeSent(_)));
        assert!(matches!(
            read_ok(r#"{"status": "OK", "sms": {}}"#),
            Verdict::MaybeSent(_)
        ));
        assert!(matches!(
            read(StatusCode::SERVICE_UNAVAILABLE, b"", TO),
            Verdict::Retry(_)
        ));
    }
}
