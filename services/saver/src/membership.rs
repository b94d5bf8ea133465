//! The saver's identity in its consumer group. With a dynamic member, a saver that crashed and
//! restarted is a stranger to the group: its partitions stay with the dead member until that
//! session expires (30-45 s measured). A static member (`group.instance.id`) that comes back
//! with the same identity takes them over at once. The identity is derived from what already
//! tells savers apart: two savers cannot listen on one address of one host.

use std::net::SocketAddr;

use crate::config::{InstanceId, instance_id_byte};

/// `group.instance.id` for `setting`, the saver's bound listen address resolving `auto`; `None`
/// for a dynamic member.
pub fn instance_id(setting: &InstanceId, listening: SocketAddr) -> Option<String> {
    match setting {
        InstanceId::None => None,
        InstanceId::Named(id) => Some(id.clone()),
        InstanceId::Auto => Some(derived(&host_name(), listening)),
    }
}

/// `saver-<host>-<ip>-<port>`, every character Kafka would refuse replaced by `-`, at most the
/// 249 characters Kafka allows.
fn derived(host: &str, listening: SocketAddr) -> String {
    let raw = format!("saver-{host}-{}-{}", listening.ip(), listening.port());
    raw.bytes()
        .map(|b| if instance_id_byte(b) { b as char } else { '-' })
        .take(249)
        .collect()
}

/// The kernel's host name (a container's own in Docker or Kubernetes), else `$HOSTNAME`.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_instance_id;

    #[test]
    fn derived_ids_are_valid_and_tell_listen_addresses_apart() {
        let one = derived("db-host.example", "127.0.0.1:50053".parse().unwrap());
        assert_eq!(one, "saver-db-host.example-127.0.0.1-50053");
        let six = derived("h", "[::1]:50053".parse().unwrap());
        let other_port = derived("h", "[::1]:50054".parse().unwrap());
        assert_ne!(six, other_port);
        let long = derived(&"h".repeat(300), "0.0.0.0:1".parse().unwrap());
        for id in [one, six, long] {
            assert_eq!(parse_instance_id(&id), Ok(InstanceId::Named(id.clone())));
        }
    }

    #[test]
    fn none_is_a_dynamic_member() {
        let addr = "127.0.0.1:1".parse().unwrap();
        assert_eq!(instance_id(&InstanceId::None, addr), None);
        let named = InstanceId::Named("a".into());
        assert_eq!(instance_id(&named, addr).as_deref(), Some("a"));
        assert!(instance_id(&InstanceId::Auto, addr).is_some_and(|id| id.ends_with("-1")));
    }
}
