//! Tests across services, and the static checks of `docker-compose.yml` and `envoy.yaml`: see
//! `tests/`. They sit in their own crate because the root package cannot depend on the services
//! that depend on it. This library holds what those tests share.

pub mod apps;
pub mod static_check;
pub mod tools;
