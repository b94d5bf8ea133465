//! Tests across services, and the static checks of `docker-compose.yml` and `envoy.yaml`: see
//! `tests/`. They sit in a crate of their own because the root package cannot depend on the
//! services that depend on it. What they share is in the dev-only crate `testkit`; this library
//! is empty, it only gives Cargo a target to hang the tests on.
