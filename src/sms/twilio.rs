//! `SMS_PROVIDER=twilio`: Twilio Programmable Messaging, `POST
//! /2010-04-01/Accounts/{AccountSid}/Messages.json` with HTTP Basic auth and a form body.
use async_trait::async_trait;
use reqwest::StatusCode;
use serde::Deserialize;

use super::{
    SmsError, SmsMessage, SmsSender,
    delivery::{Delivery, Verdict},
};
use crate::config::{SmsConfig, TwilioFrom, TwilioSettings};

/// Creates one Message resource per code; 201 is success.
#[derive(Debug)]
pub struct TwilioSender {
    settings: TwilioSettings,
    url: String,
    delivery: Delivery,
}

/// The Message resource Twilio answers with (only what the log needs).
#[derive(Deserialize)]
struct Created {
    sid: Option<String>,
}

/// Twilio's error body: `{code, message, more_info, status}`.
#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
}

impl TwilioSender {
    pub fn new(settings: TwilioSettings, config: &SmsConfig) -> anyhow::Result<Self> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            settings.api_base, settings.account_sid
        );
        Ok(Self {
            settings,
            url,
            delivery: Delivery::new("twilio", config)?,
        })
    }
}

#[async_trait]
impl SmsSender for TwilioSender {
    fn name(&self) -> &'static str {
        "twilio"
    }

    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let from = match &self.settings.from {
            TwilioFrom::Sender(from) => ("From", from.as_str()),
            TwilioFrom::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let form = [
            ("To", message.phone.as_e164()),
            from,
            ("Body", message.text.as_str()),
        ];
        let build = |client: &reqwest::Client| {
            client
                .post(&self.url)
                .basic_auth(
                    &self.settings.account_sid,
                    Some(self.settings.auth_token.expose()),
                )
                .form(&form)
        };
        self.delivery.send(build, read).await
    }
}

/// Reads Twilio's answer: 2xx with a Message resource, or an error body whose code and
/// message are kept for the log (they name numbers and reasons, never credentials).
fn read(status: StatusCode, body: &[u8]) -> Verdict {
    if status.is_success() {
        let sid = serde_json::from_slice::<Created>(body)
            .ok()
            .and_then(|m| m.sid);
        return Verdict::Accepted(sid);
    }
    let detail = match serde_json::from_slice::<TwilioError>(body) {
        Ok(error) => format!(
            ", Twilio error {}: {} ({})",
            error.code.map_or("?".into(), |c| c.to_string()),
            error.message.unwrap_or_default(),
            error.more_info.unwrap_or_default()
        ),
        Err(_) => String::new(),
    };
    match Verdict::from_status(status) {
        Verdict::Retry(why) => Verdict::Retry(why + &detail),
        Verdict::Rejected(why) => Verdict::Rejected(why + &detail),
        Verdict::MaybeSent(why) => Verdict::MaybeSent(why + &detail),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twilio_answers_are_read_by_status_with_the_error_code_kept() {
        let created = br#"{"sid": "SM1234", "status": "queued"}"#;
        assert_eq!(
            read(StatusCode::CREATED, created),
            Verdict::Accepted(Some("SM1234".into()))
        );
        let invalid = br#"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}"#;
        assert_eq!(
            read(StatusCode::BAD_REQUEST, invalid),
            Verdict::Rejected(
                "HTTP 400 Bad Request, Twilio error 21211: The 'To' number is not a valid phone \
                 number. (https://www.twilio.com/docs/errors/21211)"
                    .into()
            )
        );
        let busy =
            br#"{"code": 20429, "message": "Too Many Requests", "more_info": "", "status": 429}"#;
        assert!(
            matches!(read(StatusCode::TOO_MANY_REQUESTS, busy), Verdict::Retry(why) if why.contains("20429"))
        );
        assert!(matches!(
            read(StatusCode::BAD_GATEWAY, b"<html>"),
            Verdict::MaybeSent(why) if why == "HTTP 502 Bad Gateway"
        ));
    }
}
