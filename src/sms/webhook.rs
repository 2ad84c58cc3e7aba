//! `SMS_PROVIDER=webhook`: POSTs each message as JSON to the operator's endpoint, signed per
//! the Standard Webhooks spec, and leaves the SMS itself to whatever listens there.
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use rand::Rng;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use sha2::Sha256;

use super::{
    SmsError, SmsMessage, SmsSender,
    delivery::{Delivery, Verdict},
};
use crate::config::{SmsConfig, WebhookSettings};

/// Signs and posts messages to `SMS_WEBHOOK_URL`; any 2xx answer is success.
#[derive(Debug)]
pub struct WebhookSender {
    settings: WebhookSettings,
    delivery: Delivery,
}

/// The JSON body. `id` equals the `webhook-id` header and stays the same across retries, so
/// the receiver can drop duplicates.
#[derive(Serialize)]
struct Event<'a> {
    id: &'a str,
    phone_number: &'a str,
    code: &'a str,
    message: &'a str,
    /// RFC 3339, UTC, whole seconds.
    expires_at: String,
}

impl WebhookSender {
    pub fn new(settings: WebhookSettings, config: &SmsConfig) -> anyhow::Result<Self> {
        Ok(Self {
            settings,
            delivery: Delivery::new("webhook", config)?,
        })
    }

    /// `v1,<base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))>`.
    fn signature(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.settings.secret.expose())
            .expect("HMAC accepts keys of any length");
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

#[async_trait]
impl SmsSender for WebhookSender {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let id = format!("msg_{:032x}", rand::rng().random::<u128>());
        let expires_at = UNIX_EPOCH + Duration::from_micros(message.expires_at.max(0) as u64);
        let body = serde_json::to_vec(&Event {
            id: &id,
            phone_number: message.phone.as_e164(),
            code: message.code.expose(),
            message: &message.text,
            expires_at: humantime::format_rfc3339_seconds(expires_at).to_string(),
        })
        .map_err(|e| SmsError::NotSent(anyhow::Error::new(e).context("encoding the event")))?;
        let build = |client: &reqwest::Client| {
            // Signed anew per attempt, so a retry carries a fresh timestamp.
            let timestamp = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs();
            client
                .post(&self.settings.url)
                .header(CONTENT_TYPE, "application/json")
                .header("webhook-id", &id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", self.signature(&id, timestamp, &body))
                .body(body.clone())
        };
        self.delivery
            .send(build, |status, _body| Verdict::from_status(status))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Hidden;

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification (signature verification).
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sender = WebhookSender::new(
            WebhookSettings {
                url: "http://127.0.0.1:9".into(),
                secret: Hidden::new(key),
            },
            &SmsConfig {
                template: "{code}".into(),
                attempt_timeout: Duration::from_secs(1),
                deadline: Duration::from_secs(1),
            },
        )
        .unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sender.signature("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }
}
