//! The API tests: one binary, the real server, a real database (SQLite, or PostgreSQL when
//! TEST_DATABASE_URL is set).
mod helpers;

mod api_docs;
mod attacks;
mod auth_metadata;
mod browser;
mod country_budget;
mod crash;
mod error_details;
mod ext_authz;
mod forwarded_for;
mod grpc_web;
mod hostile;
mod instances;
mod introspect;
mod ipv6_sites;
mod limits;
mod list_users;
mod logout;
mod observability;
mod page;
mod profile;
mod profile_cache;
mod proxy;
mod request_code;
mod rest;
mod rest_docs;
mod safe_defaults;
mod service_clients;
mod set_inviter;
mod set_inviter_races;
mod sms_senders;
mod store_timeouts;
mod tls;
mod transport;
mod verify_code;
