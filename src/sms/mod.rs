//! Delivering codes by SMS. Each provider is an [`SmsSender`]; `console` is for development.
//! The HTTP senders share one retry loop (`delivery.rs`).
mod console;
mod delivery;
mod smsru;
mod twilio;
mod webhook;

use async_trait::async_trait;

pub use console::ConsoleSender;
pub use smsru::SmsRuSender;
pub use twilio::TwilioSender;
pub use webhook::WebhookSender;

use crate::domain::{PhoneNumber, UnixMicros, VerificationCode};

/// One code to deliver.
#[derive(Debug)]
pub struct SmsMessage {
    pub phone: PhoneNumber,
    pub code: VerificationCode,
    /// The text to send, with the code filled in.
    pub text: String,
    pub expires_at: UnixMicros,
}

/// Why a message was not delivered, split by what matters to the limits it spent: whether the
/// SMS might still reach the phone.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// Certainly not sent: the provider could not be reached before a byte of the request was
    /// sent, or it answered with a documented refusal or "not now" (4xx, 429, 503, SMS.ru's
    /// error codes). Giving the limits back is safe.
    #[error("SMS not sent")]
    NotSent(#[source] anyhow::Error),
    /// Perhaps sent: the request may have reached the provider (no answer in time, an answer
    /// that cannot be read, a server error other than 503). The message may still arrive, so
    /// it is neither sent again nor does it give its limits back.
    #[error("SMS perhaps sent")]
    MaybeSent(#[source] anyhow::Error),
}

/// Something that delivers a code to a phone.
#[async_trait]
pub trait SmsSender: Send + Sync + 'static {
    /// Short provider name for logs and metrics.
    fn name(&self) -> &'static str;

    /// True only for the development sender, whose codes may be shown to the caller.
    fn reveals_code(&self) -> bool {
        false
    }

    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError>;
}

/// Fills the message template (`{code}`, `{minutes}`).
pub fn render_text(template: &str, code: &VerificationCode, ttl_seconds: u64) -> String {
    template
        .replace("{code}", code.expose())
        .replace("{minutes}", &ttl_seconds.div_ceil(60).to_string())
}
