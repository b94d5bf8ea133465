//! The admin service in-process against a real PostgreSQL (`scripts/stack start`), one fresh
//! database per test.

mod grpc_web;
mod helpers;

mod cache;
mod dashboard;
mod errors;
mod paging;
mod protocols;
mod tls;
mod watch;
