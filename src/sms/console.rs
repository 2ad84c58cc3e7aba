//! The development sender: writes the code to the log instead of sending it.
use async_trait::async_trait;

use super::{SmsError, SmsMessage, SmsSender};

/// Logs every code and lets RequestCode return it as `debug_code`. Never use in production:
/// anyone who can call RequestCode can then log in as any phone.
#[derive(Debug, Default)]
pub struct ConsoleSender;

#[async_trait]
impl SmsSender for ConsoleSender {
    fn name(&self) -> &'static str {
        "console"
    }

    fn reveals_code(&self) -> bool {
        true
    }

    async fn send(&self, message: &SmsMessage) -> Result<(), SmsError> {
        tracing::info!(
            phone = %message.phone,
            code = message.code.expose(),
            "console SMS sender: {}",
            message.text
        );
        Ok(())
    }
}
