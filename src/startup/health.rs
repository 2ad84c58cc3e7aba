//! Health that tells the truth: AuthService (and SessionService and ext_authz, which read the
//! same stores) is SERVING only while its stores answer.
use std::time::Duration;

use tonic_health::{ServingStatus, server::HealthReporter};

use crate::{
    auth::Auth,
    grpc::AuthApi,
    proto::auth_service_server::AuthServiceServer,
    store::{Database, Redis},
};

/// Probes the database (and Redis) every `interval`, flipping AuthService's health status when
/// the answer changes and logging each change once. Runs until the task is aborted.
pub(super) async fn probe(
    health: HealthReporter,
    db: Database,
    redis: Option<Redis>,
    auth: Auth,
    interval: Duration,
) {
    let mut serving = true;
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        auth.record_store_sizes().await;
        let db_ok = tokio::time::timeout(interval.max(Duration::from_secs(1)), db.ping()).await;
        let problem = match db_ok {
            Ok(Ok(())) => None,
            Ok(Err(error)) => Some(format!("database: {error:#}")),
            Err(_) => Some("database: no answer".to_string()),
        };
        let problem = match (problem, &redis) {
            (None, Some(redis)) => {
                match tokio::time::timeout(interval.max(Duration::from_secs(1)), redis.ping()).await
                {
                    Ok(Ok(())) => None,
                    Ok(Err(error)) => Some(format!("Redis: {error:#}")),
                    Err(_) => Some("Redis: no answer".to_string()),
                }
            }
            (problem, _) => problem,
        };
        match (serving, problem) {
            (true, Some(problem)) => {
                tracing::error!(%problem, "a dependency is down: health NOT_SERVING");
                health.set_not_serving::<AuthServiceServer<AuthApi>>().await;
                for service in super::FOR_SERVICES {
                    health
                        .set_service_status(service, ServingStatus::NotServing)
                        .await;
                }
                health
                    .set_service_status("", ServingStatus::NotServing)
                    .await;
                serving = false;
            }
            (false, None) => {
                tracing::info!("dependencies are back: health SERVING");
                health.set_serving::<AuthServiceServer<AuthApi>>().await;
                for service in super::FOR_SERVICES {
                    health
                        .set_service_status(service, ServingStatus::Serving)
                        .await;
                }
                health.set_service_status("", ServingStatus::Serving).await;
                serving = true;
            }
            _ => {}
        }
    }
}
