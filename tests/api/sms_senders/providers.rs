//! The fakes of the SMS providers: each answers with its provider's documented success and
//! error bodies, and `check` asserts a request exactly as the provider documents it (method and
//! path are matched by the mock; the webhook's signature is verified independently here) and
//! returns the code it carries.
use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::{MockServer, Request, ResponseTemplate};

pub const PHONE: &str = "+79123456789";
const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_PATH: &str = "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json";
const WEBHOOK_KEY: &str = "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// One provider as its fake sees it.
pub struct Provider {
    pub path: &'static str,
    pub vars: fn(&MockServer) -> Vec<(&'static str, String)>,
    pub accepted: fn() -> ResponseTemplate,
    pub refused: fn() -> ResponseTemplate,
    pub unavailable: fn() -> ResponseTemplate,
    pub check: fn(&Request) -> String,
}

pub const WEBHOOK: Provider = Provider {
    path: "/hooks/sms",
    vars: |fake| {
        vec![
            ("SMS_PROVIDER", "webhook".into()),
            ("SMS_WEBHOOK_URL", format!("{}/hooks/sms", fake.uri())),
            ("SMS_WEBHOOK_SECRET", format!("whsec_{WEBHOOK_KEY}")),
            ("SMS_TEMPLATE", "Code {code}, valid {minutes} min".into()),
        ]
    },
    accepted: || ResponseTemplate::new(204),
    refused: || ResponseTemplate::new(422),
    unavailable: || ResponseTemplate::new(503),
    check: |request| {
        let (id, timestamp) = (
            header(request, "webhook-id"),
            header(request, "webhook-timestamp"),
        );
        assert_eq!(header(request, "content-type"), "application/json");
        let sent_at: u64 = timestamp.parse().expect("unix seconds");
        assert!(
            unix_now().abs_diff(sent_at) < 60,
            "timestamp {sent_at} is now"
        );
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&STANDARD.decode(WEBHOOK_KEY).unwrap()).unwrap();
        mac.update(format!("{id}.{timestamp}.").as_bytes());
        mac.update(&request.body);
        let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
        let signatures = header(request, "webhook-signature");
        assert!(
            signatures.split(' ').any(|s| s == expected),
            "{signatures} lacks {expected}"
        );
        let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
        let code = body["code"].as_str().expect("code").to_owned();
        let expires_at = humantime::parse_rfc3339(body["expires_at"].as_str().unwrap()).unwrap();
        let ttl = expires_at
            .duration_since(SystemTime::now())
            .expect("in the future");
        assert!(
            ttl > Duration::from_secs(240) && ttl <= Duration::from_secs(300),
            "{ttl:?}"
        );
        let message = format!("Code {code}, valid 5 min");
        let fields = json!({"id": id, "phone_number": PHONE, "code": code, "message": message});
        let mut without_expiry = body.clone();
        without_expiry.as_object_mut().unwrap().remove("expires_at");
        assert_eq!(without_expiry, fields);
        code
    },
};

pub const TWILIO: Provider = Provider {
    path: TWILIO_PATH,
    vars: |fake| {
        vec![
            ("SMS_PROVIDER", "twilio".into()),
            ("TWILIO_ACCOUNT_SID", TWILIO_SID.into()),
            ("TWILIO_AUTH_TOKEN", "auth-token-1".into()),
            ("TWILIO_FROM", "+15005550006".into()),
            ("TWILIO_API_BASE", fake.uri()),
        ]
    },
    accepted: || {
        let message = json!({"sid": "SM0123456789abcdef0123456789abcdef", "status": "queued",
            "to": PHONE, "from": "+15005550006", "account_sid": TWILIO_SID});
        ResponseTemplate::new(201).set_body_json(message)
    },
    refused: || {
        ResponseTemplate::new(400).set_body_json(json!({"code": 21211, "status": 400,
            "message": "The 'To' number +79123456789 is not a valid phone number.",
            "more_info": "https://www.twilio.com/docs/errors/21211"}))
    },
    unavailable: || {
        ResponseTemplate::new(503).set_body_json(json!({"code": 20503, "status": 503,
            "message": "Service unavailable", "more_info": "https://www.twilio.com/docs/errors/20503"}))
    },
    check: |request| {
        let credentials = STANDARD.encode(format!("{TWILIO_SID}:auth-token-1"));
        assert_eq!(
            header(request, "authorization"),
            format!("Basic {credentials}")
        );
        let form = form(request);
        let code = form["Body"]
            .strip_prefix("Your code: ")
            .expect("the default template");
        let body = format!("Your code: {code}");
        assert_eq!(
            form,
            fields(&[("To", PHONE), ("From", "+15005550006"), ("Body", &body)])
        );
        code.to_owned()
    },
};

pub const SMSRU: Provider = Provider {
    path: "/sms/send",
    vars: |fake| {
        vec![
            ("SMS_PROVIDER", "smsru".into()),
            (
                "SMSRU_API_ID",
                "00000000-1111-2222-3333-444444444444".into(),
            ),
            ("SMSRU_FROM", "PhoneAuth".into()),
            ("SMSRU_API_BASE", fake.uri()),
        ]
    },
    accepted: || {
        ResponseTemplate::new(200).set_body_json(json!({"status": "OK", "status_code": 100,
            "sms": {"79123456789": {"status": "OK", "status_code": 100, "sms_id": "000000-10000000"}},
            "balance": 4122.56}))
    },
    refused: || {
        ResponseTemplate::new(200).set_body_json(json!({"status": "OK", "status_code": 100,
            "sms": {"79123456789": {"status": "ERROR", "status_code": 207,
                "status_text": "На этот номер нельзя отправлять сообщения"}}, "balance": 4122.56}))
    },
    unavailable: || {
        ResponseTemplate::new(200).set_body_json(json!({"status": "ERROR", "status_code": 220,
            "status_text": "Сервис временно недоступен, попробуйте чуть позже."}))
    },
    check: |request| {
        let form = form(request);
        let code = form["msg"]
            .strip_prefix("Your code: ")
            .expect("the default template");
        let msg = format!("Your code: {code}");
        let expected = fields(&[
            ("api_id", "00000000-1111-2222-3333-444444444444"),
            ("to", "79123456789"),
            ("msg", &msg),
            ("json", "1"),
            ("from", "PhoneAuth"),
        ]);
        assert_eq!(form, expected);
        code.to_owned()
    },
};

fn header<'a>(request: &'a Request, name: &str) -> &'a str {
    let value = request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"));
    value.to_str().unwrap()
}

/// The form fields, after checking the content type and that no field repeats.
fn form(request: &Request) -> BTreeMap<String, String> {
    assert_eq!(
        header(request, "content-type"),
        "application/x-www-form-urlencoded"
    );
    let pairs: Vec<_> = form_urlencoded::parse(&request.body).into_owned().collect();
    let fields: BTreeMap<_, _> = pairs.iter().cloned().collect();
    assert_eq!(fields.len(), pairs.len(), "repeated fields: {pairs:?}");
    fields
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}
