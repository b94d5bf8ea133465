//! Ports on 127.0.0.1 for servers a test starts as processes, which cannot be handed a bound
//! listener the way an in-process service binds port 0 itself.

use std::net::TcpListener;

/// Distinct ports nobody listens on right now: bind port 0 (all at once, so they differ), read
/// what the kernel picked, let go. Someone may take one before the server binds it; a caller that
/// cannot live with that retries.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [_; N] = std::array::from_fn(|_| {
        TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| Ok((listener.local_addr()?.port(), listener)))
            .unwrap_or_else(|e| panic!("cannot bind a port on 127.0.0.1: {e}"))
    });
    listeners.map(|(port, _listener)| port)
}

/// One port nobody listens on right now (see [`free_ports`]).
pub fn free_port() -> u16 {
    let [port] = free_ports();
    port
}
