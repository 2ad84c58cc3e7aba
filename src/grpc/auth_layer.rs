//! Authentication as a tower layer: the bearer token is read once per call and the result put
//! into request extensions, where handlers find the caller (Django's `request.user`).
use std::{
    pin::Pin,
    task::{Context, Poll},
};

use tower::{Layer, Service};

use super::credentials::AUTHENTICATED_METHODS;
use crate::{
    auth::Auth,
    domain::{AuthError, Caller, SessionToken},
};

/// Whether a call to `path` must carry a session (the list is shared with build.rs, which
/// documents it).
pub fn requires_session(path: &str) -> bool {
    AUTHENTICATED_METHODS.contains(&path)
}

/// What the layer found; handlers turn a rejection into UNAUTHENTICATED (or UNAVAILABLE).
#[derive(Clone, Debug)]
pub enum Authentication {
    Caller(Caller),
    Rejected(Rejection),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rejection {
    Missing,
    /// More than one `authorization` entry: which one counts would be a guess.
    Repeated,
    Malformed,
    UnknownOrExpired,
    StoreUnavailable,
}

impl From<Rejection> for AuthError {
    fn from(rejection: Rejection) -> Self {
        match rejection {
            Rejection::Missing => AuthError::Unauthenticated(
                "missing session token: send metadata `authorization: Bearer <session_token>` from VerifyCode",
            ),
            Rejection::Repeated => AuthError::Unauthenticated(
                "more than one authorization metadata entry: send exactly one `Bearer <session_token>`",
            ),
            Rejection::Malformed => AuthError::Unauthenticated(
                "the authorization metadata must be `Bearer <session_token>` with a token from VerifyCode",
            ),
            Rejection::UnknownOrExpired => AuthError::Unauthenticated(
                "the session token is unknown, expired or revoked; log in again",
            ),
            Rejection::StoreUnavailable => AuthError::Unavailable {
                what: "the session store",
                source: anyhow::anyhow!("session lookup failed (logged when it happened)"),
            },
        }
    }
}

#[derive(Clone)]
pub struct AuthLayer {
    auth: Auth,
}

impl AuthLayer {
    pub fn new(auth: Auth) -> Self {
        Self { auth }
    }
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthMiddleware<S>;
    fn layer(&self, inner: S) -> Self::Service {
        AuthMiddleware {
            inner,
            auth: self.auth.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AuthMiddleware<S> {
    inner: S,
    auth: Auth,
}

type BoxFuture<T, E> = Pin<Box<dyn std::future::Future<Output = Result<T, E>> + Send>>;

impl<S, B> Service<http::Request<B>> for AuthMiddleware<S>
where
    S: Service<http::Request<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The clone is not ready; keep the one that was polled (tower's usual swap).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if !requires_session(request.uri().path()) {
            return Box::pin(inner.call(request));
        }
        let auth = self.auth.clone();
        Box::pin(async move {
            let mut headers = request
                .headers()
                .get_all(http::header::AUTHORIZATION)
                .iter();
            let (header, another) = (headers.next().cloned(), headers.next().is_some());
            let outcome = match another {
                // A proxy and a client may each add one; taking either could log in the
                // wrong party, so the call is refused.
                true => Authentication::Rejected(Rejection::Repeated),
                false => authenticate(&auth, header.as_ref()).await,
            };
            request.extensions_mut().insert(outcome);
            inner.call(request).await
        })
    }
}

async fn authenticate(auth: &Auth, header: Option<&http::HeaderValue>) -> Authentication {
    let Some(header) = header else {
        return Authentication::Rejected(Rejection::Missing);
    };
    let token = header.to_str().ok().and_then(bearer_token);
    let Some(token) = token else {
        return Authentication::Rejected(Rejection::Malformed);
    };
    match auth.authenticate(&token).await {
        Ok(caller) => Authentication::Caller(caller),
        Err(AuthError::Unauthenticated(_)) => Authentication::Rejected(Rejection::UnknownOrExpired),
        Err(error) => {
            tracing::warn!(error = ?error, "session lookup failed");
            Authentication::Rejected(Rejection::StoreUnavailable)
        }
    }
}

/// The session token of an `authorization` value `Bearer <token>` (the scheme in any case).
pub(super) fn bearer_token(value: &str) -> Option<SessionToken> {
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| SessionToken::parse(token).ok())
        .flatten()
}

/// The caller the layer authenticated, or the status to answer with.
pub fn caller<T>(request: &tonic::Request<T>) -> Result<Caller, AuthError> {
    match request.extensions().get::<Authentication>() {
        Some(Authentication::Caller(caller)) => Ok(caller.clone()),
        Some(Authentication::Rejected(rejection)) => Err((*rejection).into()),
        None => Err(AuthError::Internal(anyhow::anyhow!(
            "the auth layer did not run for this call"
        ))),
    }
}
