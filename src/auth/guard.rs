//! The middleware in front of a service's routes: each request's endpoint is looked up in the
//! service's [`Policy`] (open, or the scope it needs), its token checked, and the caller put in the
//! request's extensions for handlers that limit further (a device's sensor-id prefix). Refusals
//! speak the caller's protocol: a gRPC status (gRPC-Web too, once tonic-web translates it) or
//! the JSON error body with `WWW-Authenticate`.

use axum::{
    Router,
    body::Body,
    extract::{Request, State},
    http::{HeaderMap, HeaderValue, Method, header},
    middleware::{self, Next},
    response::Response,
};
use tonic::{Code, Status};

use super::{Authenticator, Need, Refusal};
use crate::http_error::error_response;

/// What an endpoint asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone: health checks, reflection, metrics.
    Open,
    /// A token with this scope.
    Needs(Need),
}

/// A service's table of endpoints: method and path to [`Access`]. One function per service, so
/// what is open is decided in one place and can be read at a glance.
pub type Policy = fn(&Method, &str) -> Access;

/// The gRPC services every port serves that stay open: load balancers probe health without
/// credentials, and reflection describes only the public contract.
pub fn is_open_grpc(path: &str) -> bool {
    [
        "/grpc.health.v1.Health/",
        "/grpc.reflection.v1.",
        "/grpc.reflection.v1alpha.",
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix))
}

#[derive(Clone)]
struct Guard {
    auth: Authenticator,
    policy: Policy,
}

/// `router` with every one of its routes behind `policy` (routes merged later are not covered).
pub fn protect(router: Router, auth: Authenticator, policy: Policy) -> Router {
    router.route_layer(middleware::from_fn_with_state(
        Guard { auth, policy },
        check,
    ))
}

async fn check(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    let Access::Needs(need) = (guard.policy)(request.method(), request.uri().path()) else {
        return next.run(request).await;
    };
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    match guard.auth.authorize(header, need) {
        Ok(principal) => {
            request.extensions_mut().insert(principal);
            next.run(request).await
        }
        Err(refusal) => refuse(request.headers(), &refusal),
    }
}

fn refuse(headers: &HeaderMap, refusal: &Refusal) -> Response {
    let grpc = headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/grpc"));
    if grpc {
        return Status::new(refusal.code(), refusal.to_string()).into_http::<Body>();
    }
    let mut response = error_response(refusal.code(), None, refusal.to_string());
    if refusal.code() == Code::Unauthenticated {
        let challenge = match refusal {
            Refusal::Missing => r#"Bearer realm="sensorpipe""#,
            _ => r#"Bearer realm="sensorpipe", error="invalid_token""#,
        };
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static(challenge),
        );
    }
    response
}
