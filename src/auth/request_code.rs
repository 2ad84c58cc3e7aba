//! RequestCode: checks, limits, delivery, and only then a stored code.
use super::{
    Auth,
    limits::{Rpc, Subject},
};
use crate::{
    domain::{AuthError, ClientAddr, PhoneNumber, VerificationCode},
    sms::{SmsError, SmsMessage, render_text},
    store::PendingCode,
    telemetry,
};

/// A code was sent.
#[derive(Debug)]
pub struct CodeSent {
    pub phone: PhoneNumber,
    pub expires_in_seconds: u32,
    pub resend_after_seconds: u32,
    /// The code, only when the sender is the development console sender.
    pub debug_code: Option<VerificationCode>,
}

impl Auth {
    /// Sends a fresh code to `phone`, replacing any earlier one. Answers the same whether or
    /// not the phone is registered. The code is stored only after the provider accepted the
    /// message; a delivery that certainly sent nothing refunds every limit it spent.
    #[tracing::instrument(skip(self), fields(phone = %phone))]
    pub async fn request_code(
        &self,
        phone: PhoneNumber,
        client: ClientAddr,
    ) -> Result<CodeSent, AuthError> {
        self.check_destination(&phone)?;
        let charge = self
            .limits
            .admit(Rpc::RequestCode, client, Subject::Phone(&phone))
            .await?;

        if let Some(code) = self.policy.test_phone_codes.get(phone.as_e164()) {
            // Fixed code for reviewers and end-to-end tests: no SMS, so the limiter spent no SMS
            // limit (no budget, no cooldown); only the address paid.
            tracing::info!(audit = "test_phone_code_requested", phone = %phone, client = %client.0, "test number: no SMS sent");
            return self.store_code(phone, code.clone()).await;
        }

        let message = self.compose(phone);
        if let Err(error) = self.deliver(&message).await {
            // The limits come back only when the provider certainly sent nothing. A message
            // that may have gone out may reach the phone: it counts like a sent one. (A code
            // store failing after the provider accepted keeps the charge too.)
            if let SmsError::NotSent(_) = error {
                charge.refund().await;
            }
            return Err(unavailable(error, self.sms.name()));
        }
        self.store_code(message.phone, message.code).await
    }

    /// Refuses numbers outside ALLOWED_REGIONS and numbers that cannot receive SMS.
    pub(super) fn check_deliverable(&self, phone: &PhoneNumber) -> Result<(), AuthError> {
        let allowed = &self.policy.allowed_regions;
        if !allowed.is_empty() && !phone.region().is_some_and(|r| allowed.contains(&r)) {
            let region = phone
                .region()
                .map_or("unknown".to_string(), |r| format!("{r:?}"));
            return Err(AuthError::invalid(
                "phone_number",
                format!("is in region {region}, which this service does not serve"),
            ));
        }
        if !phone.can_receive_sms() {
            return Err(AuthError::invalid(
                "phone_number",
                format!(
                    "cannot receive SMS (it is a {:?} number); use a mobile number",
                    phone.kind()
                ),
            ));
        }
        Ok(())
    }

    /// A fresh code for `phone`, in the message that will carry it.
    fn compose(&self, phone: PhoneNumber) -> SmsMessage {
        let policy = &self.policy;
        let code = VerificationCode::generate(policy.code_length);
        SmsMessage {
            text: render_text(&policy.sms_template, &code, policy.code_ttl.as_secs()),
            phone,
            code,
            expires_at: self.clock.after(policy.code_ttl),
        }
    }

    /// Hands the message to the provider.
    async fn deliver(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let provider = self.sms.name();
        if let Err(error) = self.sms.send(message).await {
            metrics::counter!(telemetry::SMS_FAILED, "provider" => provider).increment(1);
            return Err(error);
        }
        metrics::counter!(telemetry::SMS_SENT, "provider" => provider).increment(1);
        Ok(())
    }

    async fn store_code(
        &self,
        phone: PhoneNumber,
        code: VerificationCode,
    ) -> Result<CodeSent, AuthError> {
        let policy = &self.policy;
        let pending = PendingCode {
            digest: self.key.code_digest(&phone, &code),
            attempts_left: policy.max_code_attempts,
            expires_at: self.clock.after(policy.code_ttl),
        };
        self.codes.put(phone.as_e164(), pending).await?;
        Ok(CodeSent {
            expires_in_seconds: saturating_u32(policy.code_ttl.as_secs()),
            resend_after_seconds: saturating_u32(
                policy.limits.resend_interval.as_secs_f64().ceil() as u64,
            ),
            debug_code: self.sms.reveals_code().then_some(code),
            phone,
        })
    }
}

/// A failed delivery as the caller sees it: UNAVAILABLE, sent or not (the log says which).
fn unavailable(error: SmsError, provider: &str) -> AuthError {
    let source = match error {
        SmsError::NotSent(source) => source.context("not sent"),
        SmsError::MaybeSent(source) => source.context("perhaps sent; limits kept"),
    };
    AuthError::Unavailable {
        what: "SMS delivery",
        source: source.context(format!("sender {provider}")),
    }
}

fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
