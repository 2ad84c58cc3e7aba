//! A phone number that has been parsed and validated, held in E.164.
use std::fmt;

use phonenumber::{country, metadata::DATABASE};

/// Longest input we hand to the parser. Real numbers with separators fit easily; the cap keeps
/// pathological inputs away from the parser.
const MAX_INPUT_LEN: usize = 64;

/// A valid phone number in E.164 form ("+79123456789"). The only way to make one is
/// [`PhoneNumber::parse`], so holding one proves the number is valid.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PhoneNumber {
    e164: String,
    region: Option<country::Id>,
    kind: phonenumber::Type,
    /// The calling code, when it belongs to an international network rather than a region.
    network: Option<u16>,
}

/// Why a string is not a phone number; the message is shown to the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneNumberError {
    #[error("is required")]
    Empty,
    #[error("is too long (at most {MAX_INPUT_LEN} characters)")]
    TooLong,
    #[error("may hold only digits, '+', spaces, dashes, dots and brackets")]
    BadCharacters,
    #[error("is not a valid phone number (use international format, e.g. +79123456789)")]
    Invalid,
}

impl PhoneNumber {
    /// Parses international input, or national input read in `default_region`.
    pub fn parse(input: &str, default_region: country::Id) -> Result<Self, PhoneNumberError> {
        let input = input.trim();
        if input.is_empty() {
            return Err(PhoneNumberError::Empty);
        }
        if input.len() > MAX_INPUT_LEN {
            return Err(PhoneNumberError::TooLong);
        }
        if !input
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '.' | '(' | ')'))
        {
            return Err(PhoneNumberError::BadCharacters);
        }
        // The parser has panicked on odd inputs in past releases; a panic must never take a
        // request down with it, so it is contained and treated as "not a number".
        // International input carries its own country code; giving the parser a default
        // region anyway makes it misread some numbers (e.g. +1 800… under RU).
        let region = (!input.starts_with('+')).then_some(default_region);
        // `is_valid` is exactly "the number type is known", so the type (the costly part:
        // a regex per kind) is computed once and serves as both the validity check and `kind`.
        let (parsed, kind) = std::panic::catch_unwind(|| {
            let number = phonenumber::parse(region, input).ok()?;
            let kind = number.number_type(&DATABASE);
            (kind != phonenumber::Type::Unknown).then_some((number, kind))
        })
        .ok()
        .flatten()
        .ok_or(PhoneNumberError::Invalid)?;
        let e164 = e164_of(&parsed);
        let calling_code = parsed.code().value();
        Ok(Self {
            e164,
            region: parsed
                .metadata(&DATABASE)
                .and_then(|meta| meta.id().parse().ok()),
            kind,
            network: Self::is_international_network(calling_code).then_some(calling_code),
        })
    }

    /// The number in E.164, e.g. "+79123456789".
    pub fn as_e164(&self) -> &str {
        &self.e164
    }

    /// The ISO 3166 region the number belongs to, when the metadata knows it.
    pub fn region(&self) -> Option<country::Id> {
        self.region
    }
}

impl PhoneNumber {
    /// Whether numbers of this kind can receive an SMS. Fixed-line, premium-rate, shared-cost,
    /// toll-free and the like cannot, and are favourite targets of SMS-pumping fraud.
    pub fn can_receive_sms(&self) -> bool {
        use phonenumber::Type::*;
        matches!(
            self.kind,
            Mobile | FixedLineOrMobile | PersonalNumber | Voip
        )
    }

    /// The number's kind as libphonenumber classifies it, for messages and logs.
    pub fn kind(&self) -> phonenumber::Type {
        self.kind
    }

    /// The calling code (e.g. 882) when the number belongs to an international network
    /// instead of a region: see [`PhoneNumber::is_international_network`].
    pub fn international_network(&self) -> Option<u16> {
        self.network
    }

    /// Whether `calling_code` belongs to one of libphonenumber's non-geographic entities (region
    /// "001") rather than to a country: satellite systems (+870 Inmarsat, +881 GMSS), international
    /// networks (+882, +883), personal numbering (+878), and international freephone, shared-cost,
    /// premium-rate and UAN numbers (+800, +808, +979, +888). Sending to them costs many times a
    /// national SMS, and the mobile-looking ones are classic targets of SMS toll fraud.
    pub fn is_international_network(calling_code: u16) -> bool {
        DATABASE
            .by_code(&calling_code)
            .is_some_and(|regions| regions.iter().any(|meta| meta.id() == "001"))
    }
}

/// `number` in E.164: "+", the calling code, then the national significant number with its
/// leading zeros (Italy's), as phonenumber's E.164 formatter writes it. Written here because
/// that formatter first looks up the region's display formats (a regex match per format) that
/// E.164 never uses: ~4 % of a RequestCode's server time (docs/performance.md).
fn e164_of(number: &phonenumber::PhoneNumber) -> String {
    use fmt::Write;
    let national = number.national();
    let mut e164 = String::with_capacity(MAX_E164_LEN);
    let _ = write!(e164, "+{}", number.code().value());
    e164.extend(std::iter::repeat_n('0', usize::from(national.zeros())));
    let _ = write!(e164, "{}", national.value());
    e164
}

/// "+" and at most 15 digits.
const MAX_E164_LEN: usize = 16;

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.e164)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use phonenumber::Mode;
    use proptest::prelude::*;

    fn ru(input: &str) -> Result<PhoneNumber, PhoneNumberError> {
        PhoneNumber::parse(input, country::RU)
    }

    #[test]
    fn italian_leading_zeros_stay_in_e164() {
        // (phonenumber 0.3 classifies Italy's fixed lines as Unknown, so `parse` refuses them;
        // they cannot receive an SMS anyway.)
        let rome = phonenumber::parse(Some(country::IT), "06 6982 0000").unwrap();
        assert_eq!(e164_of(&rome), "+390669820000");
    }

    #[test]
    fn russian_national_format_is_read_in_the_default_region() {
        assert_eq!(ru("8 (912) 345-67-89").unwrap().as_e164(), "+79123456789");
    }

    #[test]
    fn international_formats_normalise_to_e164() {
        assert_eq!(ru("+7 912 345 67 89").unwrap().as_e164(), "+79123456789");
        assert_eq!(ru("+1 (650) 253-0000").unwrap().as_e164(), "+16502530000");
    }

    #[test]
    fn mobiles_can_receive_sms_and_landlines_or_premium_numbers_cannot() {
        assert!(ru("+79123456789").unwrap().can_receive_sms());
        assert!(
            !ru("+74951234567").unwrap().can_receive_sms(),
            "Moscow landline"
        );
        assert!(
            !ru("+18002345678").unwrap().can_receive_sms(),
            "US toll-free"
        );
        assert!(
            !ru("+19002345678").unwrap().can_receive_sms(),
            "US premium rate"
        );
    }

    #[test]
    fn satellite_and_international_network_numbers_name_their_network() {
        // Example numbers of libphonenumber's metadata for each non-geographic entity.
        for (number, network) in [
            ("+870301234567", 870),
            ("+881612345678", 881),
            ("+8823421234", 882),
            ("+883510012345", 883),
            ("+878101234567890", 878),
            ("+80012345678", 800),
            ("+979123456789", 979),
        ] {
            let parsed = ru(number).unwrap_or_else(|e| panic!("{number}: {e}"));
            assert_eq!(parsed.international_network(), Some(network), "{number}");
            assert_eq!(parsed.region(), None, "{number}");
        }
        assert_eq!(ru("+79123456789").unwrap().international_network(), None);
        assert_eq!(ru("+16502530000").unwrap().international_network(), None);
        assert!(PhoneNumber::is_international_network(882));
        assert!(!PhoneNumber::is_international_network(7));
        assert!(!PhoneNumber::is_international_network(999));
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(ru(""), Err(PhoneNumberError::Empty));
        assert_eq!(ru("   "), Err(PhoneNumberError::Empty));
        assert_eq!(ru("call me"), Err(PhoneNumberError::BadCharacters));
        assert_eq!(ru("12"), Err(PhoneNumberError::Invalid));
        assert_eq!(ru(&"9".repeat(65)), Err(PhoneNumberError::TooLong));
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(input in ".{0,80}") {
            let _ = ru(&input);
        }

        #[test]
        fn e164_is_written_as_phonenumber_formats_it(
            input in "\\+?[0-9 ()-]{1,24}",
            region in prop::sample::select(vec![country::RU, country::IT, country::US, country::DE]),
        ) {
            let region = (!input.starts_with('+')).then_some(region);
            if let Ok(parsed) = phonenumber::parse(region, &input)
                && parsed.metadata(&DATABASE).is_some()
            {
                prop_assert_eq!(e164_of(&parsed), parsed.format().mode(Mode::E164).to_string());
            }
        }

        #[test]
        fn accepted_numbers_round_trip_to_the_same_e164(input in "[+0-9 ()-]{1,24}") {
            if let Ok(number) = ru(&input) {
                let again = ru(number.as_e164()).expect("E.164 output must parse again");
                prop_assert_eq!(again.as_e164(), number.as_e164());
            }
        }
    }
}
