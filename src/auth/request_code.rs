//! RequestCode: checks, throttles, delivery, and only then a stored code.
use super::{
    Auth,
    throttle::{Cooldown, Limit},
};
use crate::{
    domain::{AuthError, ClientAddr, PhoneNumber, VerificationCode},
    metrics,
    sms::{SmsError, SmsMessage, render_text},
    store::PendingCode,
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
    /// message, and a failed delivery refunds every limit it spent.
    #[tracing::instrument(skip(self), fields(phone = %phone))]
    pub async fn request_code(
        &self,
        phone: PhoneNumber,
        client: ClientAddr,
    ) -> Result<CodeSent, AuthError> {
        self.check_destination(&phone)?;
        let limits = &self.policy.limits;
        self.throttle_address(
            "RequestCode",
            client,
            limits.request_code_per_ip_burst,
            limits.request_code_per_ip_per_minute,
        )
        .await?;

        if let Some(code) = self.policy.test_phone_codes.get(phone.as_e164()) {
            // Fixed code for reviewers and end-to-end tests: no SMS, no budget, no cooldown.
            tracing::info!(audit = "test_phone_code_requested", phone = %phone, client = %client.0, "test number: no SMS sent");
            return self.store_code(phone, code.clone()).await;
        }

        let per_phone = Limit {
            limit: limits.codes_per_phone,
            window: limits.codes_per_phone_window,
            refusal: "too many codes sent to this number",
            name: "codes_per_phone",
            cooldown: Some(Cooldown {
                gap: limits.resend_interval,
                refusal: "a code was just sent to this number",
                name: "resend_cooldown",
            }),
        };
        let sent = self.spend(format!("sent:{phone}"), per_phone).await?;
        let spent = match self.spend_sms_budget().await {
            Ok(budget) => [sent, budget],
            Err(error) => {
                self.refund([sent]).await;
                return Err(error);
            }
        };
        match self.deliver(phone).await {
            Ok(sent) => Ok(sent),
            Err(error) => {
                self.refund(spent).await;
                Err(error)
            }
        }
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

    async fn deliver(&self, phone: PhoneNumber) -> Result<CodeSent, AuthError> {
        let policy = &self.policy;
        let code = VerificationCode::generate(policy.code_length);
        let message = SmsMessage {
            text: render_text(&policy.sms_template, &code, policy.code_ttl.as_secs()),
            phone,
            code,
            expires_at: self.clock.after(policy.code_ttl),
        };
        let provider = self.sms.name();
        self.sms.send(&message).await.map_err(|error| {
            metrics::count(metrics::SMS_FAILED, "provider", provider);
            match error {
                SmsError::Unavailable(source) | SmsError::Rejected(source) => {
                    AuthError::Unavailable {
                        what: "SMS delivery",
                        source: source.context(format!("sender {provider}")),
                    }
                }
            }
        })?;
        metrics::count(metrics::SMS_SENT, "provider", provider);
        self.store_code(message.phone, message.code).await
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

fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
