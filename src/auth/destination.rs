//! Where RequestCode may send an SMS: numbers of international networks (satellite phones,
//! +882/+883 carriers and the like) only when ALLOWED_INTERNATIONAL_NETWORKS names them.
use super::Auth;
use crate::domain::{AuthError, PhoneNumber};

impl Auth {
    /// Refuses destinations RequestCode must not send to. An international network has no
    /// region, so ALLOWED_REGIONS cannot name it: once allowed it is served whatever
    /// ALLOWED_REGIONS says, and only the kind check applies to it. Every other number goes
    /// through the region and kind checks of [`Auth::check_deliverable`].
    pub(super) fn check_destination(&self, phone: &PhoneNumber) -> Result<(), AuthError> {
        let Some(network) = phone.international_network() else {
            return self.check_deliverable(phone);
        };
        if !self
            .policy
            .allowed_international_networks
            .contains(&network)
        {
            return Err(AuthError::invalid(
                "phone_number",
                format!(
                    "belongs to the international network +{network} (satellite or global \
                     service), which this service does not serve"
                ),
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
}
