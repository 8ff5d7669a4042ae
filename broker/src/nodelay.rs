//! rumqttd never sets `TCP_NODELAY` on its sockets, and has no setting for it. With Nagle's algorithm on,
//! a small write waits while an earlier one is unacknowledged, and a subscriber that only receives
//! acknowledges late (delayed ACK, up to 40 ms on Linux). Audio frames are small and frequent: with
//! eight sites streaming, frames to a subscriber waited ~15 ms at the median and ~40 ms at p99 in
//! `hearth bench bus`. Linux copies a listening socket's `TCP_NODELAY` into every connection it
//! accepts, so setting it on rumqttd's listeners, found by their port among this process's file
//! descriptors, turns Nagle off for every client from then on.

use std::os::fd::{BorrowedFd, RawFd};

use socket2::{SockRef, Type};

/// Sets `TCP_NODELAY` on this process's TCP sockets whose local port is one of `ports` (the broker's
/// listeners and the connections they accepted so far). Returns the ports whose listening socket was
/// among them.
pub(crate) fn set_on_local_ports(ports: &[u16]) -> Vec<u16> {
    let mut listening = Vec::new();
    let Ok(fds) = std::fs::read_dir("/proc/self/fd") else { return listening };
    for entry in fds.flatten() {
        let is_socket = std::fs::read_link(entry.path()).is_ok_and(|t| t.to_string_lossy().starts_with("socket:"));
        let Some(fd) = entry.file_name().to_str().and_then(|n| n.parse::<RawFd>().ok()) else { continue };
        if !is_socket {
            continue;
        }
        // SAFETY: the descriptor was open when listed and is only borrowed for the calls below. Were it
        // closed and reused meanwhile, the port check makes the worst case a socket of ours on a broker
        // port getting TCP_NODELAY, which is harmless.
        let fd = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = SockRef::from(&fd);
        let Some(port) = socket.local_addr().ok().and_then(|a| a.as_socket()).map(|a| a.port()) else { continue };
        if !ports.contains(&port) || !socket.r#type().is_ok_and(|t| t == Type::STREAM) {
            continue;
        }
        if socket.set_tcp_nodelay(true).is_ok() && socket.is_listener().unwrap_or(false) {
            listening.push(port);
        }
    }
    listening
}
