//! Building and running the server. `build` binds the listener first, so callers (tests on
//! port 0 included) know the address before anything is served.
mod connection;
mod connections;
mod health;
mod opening;
mod stores;

use std::{future::Future, net::SocketAddr, sync::Arc};

use anyhow::Context;
use envoy_types::ext_authz::v3::pb::AuthorizationServer;
use tokio::net::TcpListener;
use tonic::{
    server::NamedService,
    service::{LayerExt, Routes},
    transport::{Identity, Server, ServerTlsConfig},
};
use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    auth::{Auth, Policy},
    config::{Config, SmsProvider},
    grpc::{AuthApi, AuthorizationApi, MetricsLayer, SessionApi},
    proto::{
        self, auth_service_server::AuthServiceServer, session_service_server::SessionServiceServer,
    },
    sms::{ConsoleSender, SmsSender},
    store::{CachedUsers, Database, Redis, Writer},
};

/// A built server, bound to its address and ready to run.
pub struct App {
    listener: TcpListener,
    config: Config,
    auth: Auth,
    db: Database,
    writer: Writer,
    redis: Option<Redis>,
    tls: Option<Identity>,
    metrics_addr: Option<SocketAddr>,
}

/// Connects the stores, applies migrations and binds `config.listen_addr`.
pub async fn build(config: Config) -> anyhow::Result<App> {
    if config.secret_key_is_ephemeral {
        tracing::warn!(
            "SECRET_KEY is not set: using a random key for this process only (codes and sessions \
             die with it). Set SECRET_KEY to at least 32 random bytes, e.g. `openssl rand -base64 48`"
        );
    }
    // Settings that are allowed but dangerous (docs/security.md); the unsafe ones never got
    // this far.
    for warning in config.startup_warnings() {
        match warning.level {
            tracing::Level::ERROR => tracing::error!("{}", warning.message),
            _ => tracing::warn!("{}", warning.message),
        }
    }
    match config.service_tokens.is_empty() {
        true => tracing::info!(
            "SERVICE_TOKENS is not set: SessionService and ext_authz Check refuse every call"
        ),
        false => {
            let names: Vec<&str> = config.service_tokens.names().collect();
            tracing::info!(services = ?names, "services that may call SessionService and Check");
        }
    }
    let lifetimes = stores::Lifetimes {
        code: config.code_ttl,
        session: config.session_ttl,
    };
    let stores = stores::connect(&config.stores, lifetimes, &config.clock).await?;
    let sms: Arc<dyn SmsSender> = match &config.sms_provider {
        SmsProvider::Console => {
            tracing::warn!(
                "SMS_PROVIDER=console: codes are logged and returned as debug_code; development only"
            );
            Arc::new(ConsoleSender)
        }
        SmsProvider::Webhook(settings) => Arc::new(crate::sms::WebhookSender::new(
            settings.clone(),
            &config.sms,
        )?),
        SmsProvider::Twilio(settings) => Arc::new(crate::sms::TwilioSender::new(
            settings.clone(),
            &config.sms,
        )?),
        SmsProvider::SmsRu(settings) => {
            Arc::new(crate::sms::SmsRuSender::new(settings.clone(), &config.sms)?)
        }
    };
    let auth = Auth::new(
        Policy::from_config(&config),
        config.secret_key.clone(),
        CachedUsers::new(stores.db.clone(), stores.writer.clone(), stores.user_cache),
        stores.codes,
        stores.sessions,
        sms,
        stores.limits,
    );
    let tls = match &config.tls {
        Some((cert, key)) => {
            let cert = std::fs::read(cert)
                .with_context(|| format!("cannot read TLS_CERT_FILE={}", cert.display()))?;
            let key = std::fs::read(key)
                .with_context(|| format!("cannot read TLS_KEY_FILE={}", key.display()))?;
            Some(Identity::from_pem(cert, key))
        }
        None => None,
    };
    let metrics_addr = match config.metrics_addr {
        Some(addr) => Some(crate::telemetry::serve_metrics(addr).await?),
        None => None,
    };
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("cannot listen on LISTEN_ADDR={}", config.listen_addr))?;
    Ok(App {
        listener,
        config,
        auth,
        db: stores.db,
        writer: stores.writer,
        redis: stores.redis,
        tls,
        metrics_addr,
    })
}

impl App {
    /// The address actually bound (the real port when LISTEN_ADDR asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where Prometheus metrics are served, when METRICS_ADDR is set.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// Serves until `shutdown` completes; then health turns NOT_SERVING, new connections are
    /// refused and calls in flight finish before this returns — or, after SHUTDOWN_GRACE_SECONDS,
    /// are cut off with their connections. The stores are closed after either.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (health, health_service) = tonic_health::server::health_reporter();
        health.set_serving::<AuthServiceServer<AuthApi>>().await;
        health
            .set_serving::<SessionServiceServer<SessionApi>>()
            .await;
        health
            .set_serving::<AuthorizationServer<AuthorizationApi>>()
            .await;
        let probe = tokio::spawn(health::probe(
            health.clone(),
            self.db.clone(),
            self.redis.clone(),
            self.auth.clone(),
            self.config.stores.health_probe_interval,
        ));
        let transport = &self.config.transport;
        let api = AuthApi::new(self.auth.clone(), &self.config.limits.trusted_proxies);
        let auth_service =
            AuthServiceServer::new(api).max_decoding_message_size(transport.max_request_bytes);
        let services = &self.config.service_tokens;
        let session_service =
            SessionServiceServer::new(SessionApi::new(self.auth.clone(), services.clone()))
                .max_decoding_message_size(transport.max_request_bytes);
        let ext_authz =
            AuthorizationServer::new(AuthorizationApi::new(self.auth.clone(), services.clone()))
                .max_decoding_message_size(transport.max_request_bytes);
        // Every gRPC service, each in the same layers (gRPC-Web, deadline, size, auth). The
        // REST routes and pages of issue #12 join these Routes as an axum router.
        let layers = crate::grpc::service_layers(
            self.auth.clone(),
            transport.request_timeout,
            transport.max_request_bytes,
        );
        let mut routes = Routes::builder();
        routes
            .add_service(layers.named_layer(health_service))
            .add_service(
                layers.named_layer(reflection().build_v1().context("building reflection v1")?),
            )
            .add_service(
                layers.named_layer(
                    reflection()
                        .build_v1alpha()
                        .context("building reflection v1alpha")?,
                ),
            )
            .add_service(layers.named_layer(auth_service))
            .add_service(layers.named_layer(session_service))
            .add_service(layers.named_layer(ext_authz));
        let cors = crate::grpc::cors_layer(&transport.cors_allowed_origins);

        let addr = self.local_addr();
        let mut server = Server::builder();
        if let Some(identity) = self.tls.clone() {
            let tls = ServerTlsConfig::new()
                .identity(identity)
                .timeout(transport.handshake_timeout);
            server = server.tls_config(tls).context("configuring TLS")?;
        }
        // Tests and operators' scripts wait for this exact message: it names gRPC-Web in a field.
        tracing::info!(
            %addr,
            tls = self.tls.is_some(),
            grpc_web = true,
            cors_origins = transport.cors_allowed_origins.len(),
            "phone-auth serving gRPC"
        );
        let keepalive = Some(transport.keepalive_interval).filter(|d| !d.is_zero());
        let (connections, drain) = connections::bounded(self.listener, transport);
        let serving = server
            // gRPC-Web over HTTP/1.1; native gRPC and gRPC-Web over h2 need nothing more.
            .accept_http1(true)
            .concurrency_limit_per_connection(transport.concurrency_per_connection)
            .max_concurrent_streams(transport.max_concurrent_streams)
            .http2_keepalive_interval(keepalive)
            .http2_keepalive_timeout(Some(transport.keepalive_timeout))
            // The first layer is the outermost: CORS answers preflights before anything counts
            // them, and metrics see the statuses every layer inside answers.
            .layer(tower::util::option_layer(cors))
            .layer(MetricsLayer)
            .add_routes(with_rest(routes.routes().prepare(), &self.config))
            .serve_with_incoming_shutdown(connections, drain_on(shutdown, health, probe, &drain));
        let result = drain
            .within(transport.shutdown_grace, serving)
            .await
            .context("gRPC server failed");
        self.writer.close().await;
        self.db.close().await;
        // Freeing millions of cached sessions and codes takes seconds; nothing in them needs an
        // orderly end, so it happens on a thread of its own and the process can exit (and an
        // orchestrator's stop grace period is not spent) as soon as serving stopped.
        let auth = self.auth;
        std::thread::spawn(move || drop(auth));
        tracing::info!("phone-auth stopped");
        result
    }
}

/// The gRPC routes with REST as their fallback: a path no gRPC service claims is a REST call,
/// made in process on the same routes, so it meets the same layers (and metrics, which count
/// it under its RPC).
fn with_rest(grpc: Routes, config: &Config) -> Routes {
    let rest = crate::rest::RestApi::new(
        grpc.clone(),
        crate::rest::RestSettings {
            max_request_bytes: config.transport.max_request_bytes,
            request_timeout: config.transport.request_timeout,
            secret_key: config.secret_key.clone(),
        },
    );
    Routes::from(
        grpc.into_axum_router()
            .reset_fallback()
            .merge(crate::page::page_router())
            .merge(crate::rest::docs_router())
            .fallback_service(rest),
    )
}

/// Reflection over our API and health, and over google.rpc's error details, so that grpcurl and
/// the GUI tools decode the BadRequest, ErrorInfo and RetryInfo our errors carry (the
/// descriptor set holds google/rpc/error_details.proto, see build.rs). grpcurl ≤1.8 and older
/// GUI tools speak only v1alpha, so both versions are served.
fn reflection() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

/// The services other services call (SessionService, ext_authz), for health.
const FOR_SERVICES: [&str; 2] = [
    <SessionServiceServer<SessionApi> as NamedService>::NAME,
    <AuthorizationServer<AuthorizationApi> as NamedService>::NAME,
];

/// Completes when `shutdown` does, after flipping every health status to NOT_SERVING, ending
/// the health Watch streams and closing the connections that have not sent their first request.
async fn drain_on(
    shutdown: impl Future<Output = ()>,
    mut health: HealthReporter,
    probe: tokio::task::JoinHandle<()>,
    drain: &connections::Drain,
) {
    shutdown.await;
    // The probe must not flip health back to SERVING while we drain.
    probe.abort();
    let _ = probe.await;
    tracing::info!("shutting down: health NOT_SERVING, draining calls in flight");
    let auth_service = <AuthServiceServer<AuthApi> as NamedService>::NAME;
    health
        .set_service_status(auth_service, ServingStatus::NotServing)
        .await;
    for service in FOR_SERVICES {
        health
            .set_service_status(service, ServingStatus::NotServing)
            .await;
    }
    health
        .set_service_status("", ServingStatus::NotServing)
        .await;
    // tonic-health ends a Watch stream only when its status is cleared; until then each open
    // Watch is a call in flight that holds the drain. Cleared now, every Watch sends the
    // NOT_SERVING it has not sent yet and ends with OK (a Check from here on answers NOT_FOUND,
    // but the listener is closing and open connections get GOAWAY right after this).
    health.clear_service_status(auth_service).await;
    for service in FOR_SERVICES {
        health.clear_service_status(service).await;
    }
    health.clear_service_status("").await;
    drain.begin();
}

/// Completes on SIGINT or SIGTERM. The handlers are installed when this is *called*, not when
/// the future is first polled: the server polls it only once it serves, and a SIGTERM landing
/// in between would otherwise take the default action and kill the process ungracefully.
/// Call it inside the runtime, before building the server.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let signals = {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(terminate), Ok(interrupt)) => Some((terminate, interrupt)),
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot listen for SIGTERM/SIGINT");
                None
            }
        }
    };
    async move {
        #[cfg(unix)]
        match signals {
            Some((mut terminate, mut interrupt)) => {
                tokio::select! { _ = terminate.recv() => {}, _ = interrupt.recv() => {} }
            }
            None => std::future::pending::<()>().await,
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
