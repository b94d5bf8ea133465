//! Nothing but tests: see `tests/`. They sit in their own crate because the root package cannot
//! depend on the services that depend on it.
