//! TLS with a certificate generated for the test (rcgen), verified by the client.
use phone_auth::proto::{RequestCodeRequest, auth_service_client::AuthServiceClient};
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::helpers::TestApp;

#[tokio::test]
async fn with_tls_files_set_the_server_speaks_tls_and_refuses_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = certified.cert.pem();
    let (cert_file, key_file) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_file, &cert_pem).unwrap();
    std::fs::write(&key_file, certified.signing_key.serialize_pem()).unwrap();

    let app = TestApp::spawn_tls(&[
        ("TLS_CERT_FILE", cert_file.to_str().unwrap()),
        ("TLS_KEY_FILE", key_file.to_str().unwrap()),
    ])
    .await;

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://{}", app.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let response = AuthServiceClient::new(channel)
        .request_code(RequestCodeRequest {
            phone_number: "+79123456789".into(),
        })
        .await
        .expect("RequestCode over TLS")
        .into_inner();
    assert_eq!(response.phone_number, "+79123456789");

    let plaintext = async {
        let channel = Channel::from_shared(format!("http://{}", app.addr))
            .unwrap()
            .connect()
            .await?;
        AuthServiceClient::new(channel)
            .request_code(RequestCodeRequest {
                phone_number: "+79123456789".into(),
            })
            .await
            .map_err(|status| Box::new(status) as Box<dyn std::error::Error>)?;
        Ok::<_, Box<dyn std::error::Error>>(())
    };
    let plaintext = tokio::time::timeout(std::time::Duration::from_secs(5), plaintext).await;
    assert!(
        !matches!(plaintext, Ok(Ok(()))),
        "a plaintext call must not succeed"
    );
}

#[tokio::test]
async fn a_missing_certificate_file_stops_start_up_naming_the_variable() {
    let config = phone_auth::Config::from_lookup(|name| match name {
        "LISTEN_ADDR" => Some("127.0.0.1:0".into()),
        "DATABASE_URL" => Some("sqlite::memory:".into()),
        "TLS_CERT_FILE" => Some("/nonexistent/cert.pem".into()),
        "TLS_KEY_FILE" => Some("/nonexistent/key.pem".into()),
        _ => None,
    })
    .unwrap();
    let error = phone_auth::build(config)
        .await
        .err()
        .expect("start-up fails");
    assert!(format!("{error:#}").contains("TLS_CERT_FILE"), "{error:#}");
}
