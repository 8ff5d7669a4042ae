//! systemd integration: readiness, watchdog and stopping through `sd_notify` (a datagram to the
//! socket in `NOTIFY_SOCKET`). Units use `Type=notify` and `WatchdogSec=`; outside systemd
//! (`NOTIFY_SOCKET` unset) every call is a no-op.
//!
//! READY=1 is sent once the broker accepted the connection, so `systemctl start` (and units ordered
//! after this one) wait until the service is really on the bus. WATCHDOG=1 is sent from a task on
//! the service's runtime at half of `WATCHDOG_USEC`: a wedged runtime stops the pings and systemd
//! restarts the process.

use std::io;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

use hearth_bus::BusClient;
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// A handle on the notification socket; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Notifier {
    target: Option<std::path::PathBuf>,
    abstract_name: Option<Vec<u8>>,
}

impl Notifier {
    /// The socket named by `NOTIFY_SOCKET`, or a no-op notifier when it is unset or empty.
    pub fn from_env() -> Notifier {
        match std::env::var_os("NOTIFY_SOCKET") {
            Some(s) if !s.is_empty() => Notifier::for_socket(&s.to_string_lossy()),
            _ => Notifier::default(),
        }
    }

    /// A notifier for a socket path, or an abstract socket when the name starts with `@`.
    pub fn for_socket(name: &str) -> Notifier {
        match name.strip_prefix('@') {
            Some(abstract_name) => Notifier { target: None, abstract_name: Some(abstract_name.as_bytes().to_vec()) },
            None => Notifier { target: Some(name.into()), abstract_name: None },
        }
    }

    /// Whether systemd is listening.
    pub fn is_enabled(&self) -> bool {
        self.target.is_some() || self.abstract_name.is_some()
    }

    /// Sends one notification (`READY=1`, `WATCHDOG=1`, `STATUS=…`, newline-separated).
    pub fn notify(&self, state: &str) -> io::Result<()> {
        let socket = UnixDatagram::unbound()?;
        if let Some(path) = &self.target {
            socket.send_to(state.as_bytes(), path)?;
        } else if let Some(name) = &self.abstract_name {
            socket.send_to_addr(state.as_bytes(), &abstract_addr(name)?)?;
        }
        Ok(())
    }

    fn send(&self, state: &str) {
        if self.is_enabled() {
            if let Err(error) = self.notify(state) {
                warn!(%error, state, "sd_notify failed");
            }
        }
    }
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> io::Result<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_name: &[u8]) -> io::Result<SocketAddr> {
    Err(io::Error::new(io::ErrorKind::Unsupported, "abstract sockets need Linux"))
}

/// Half the watchdog period systemd asked for, when it asked this process: `WATCHDOG_USEC` set and
/// `WATCHDOG_PID` absent or equal to `pid`.
pub fn watchdog_ping_interval(watchdog_usec: Option<&str>, watchdog_pid: Option<&str>, pid: u32) -> Option<Duration> {
    let usec: u64 = watchdog_usec?.trim().parse().ok().filter(|u| *u > 0)?;
    if let Some(p) = watchdog_pid {
        if p.trim().parse::<u32>().ok() != Some(pid) {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

/// The systemd side of one running service: readiness once connected, watchdog pings, stopping.
pub struct Systemd {
    notifier: Notifier,
    tasks: Vec<JoinHandle<()>>,
}

impl Systemd {
    /// Starts the readiness and watchdog tasks for `client` (no tasks when not under systemd).
    pub fn start(client: &BusClient) -> Systemd {
        let notifier = Notifier::from_env();
        let mut tasks = Vec::new();
        if notifier.is_enabled() {
            let (n, c) = (notifier.clone(), client.clone());
            tasks.push(tokio::spawn(async move {
                while c.wait_connected(Duration::from_secs(60)).await.is_err() {
                    debug!("still waiting for the broker before READY=1");
                }
                n.send(&format!("READY=1\nSTATUS={} connected to the broker", c.service()));
                info!("told systemd the service is ready");
            }));
            tasks.extend(spawn_watchdog(&notifier));
        }
        Systemd { notifier, tasks }
    }

    /// For processes that are not bus services (`hearth broker`): READY=1 now, with `status`, and
    /// the watchdog pings. Call it once the process is serving.
    pub fn ready_now(status: &str) -> Systemd {
        let notifier = Notifier::from_env();
        notifier.send(&format!("READY=1\nSTATUS={status}"));
        let tasks = spawn_watchdog(&notifier).into_iter().collect();
        Systemd { notifier, tasks }
    }

    /// Tells systemd the service is shutting down and stops the pings.
    pub fn stopping(self) {
        for task in &self.tasks {
            task.abort();
        }
        self.notifier.send("STOPPING=1");
    }
}

/// Pings `WATCHDOG=1` at half the period systemd asked for, from the current runtime.
fn spawn_watchdog(notifier: &Notifier) -> Option<JoinHandle<()>> {
    if !notifier.is_enabled() {
        return None;
    }
    let every = watchdog_ping_interval(
        std::env::var("WATCHDOG_USEC").ok().as_deref(),
        std::env::var("WATCHDOG_PID").ok().as_deref(),
        std::process::id(),
    )?;
    let n = notifier.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            n.send("WATCHDOG=1");
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_to_a_path_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let listener = UnixDatagram::bind(&path).unwrap();
        let n = Notifier::for_socket(path.to_str().unwrap());
        assert!(n.is_enabled());
        n.notify("READY=1").unwrap();
        let mut buf = [0u8; 64];
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn sends_to_an_abstract_socket() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("hearth-test-{}", std::process::id());
        let listener = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        Notifier::for_socket(&format!("@{name}")).notify("WATCHDOG=1").unwrap();
        let mut buf = [0u8; 64];
        let len = listener.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }

    #[test]
    fn disabled_without_a_socket() {
        let n = Notifier::default();
        assert!(!n.is_enabled());
        n.notify("READY=1").unwrap();
        n.send("READY=1");
    }

    #[test]
    fn watchdog_interval_is_half_and_for_this_pid() {
        assert_eq!(watchdog_ping_interval(Some("30000000"), None, 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_ping_interval(Some("30000000"), Some("7"), 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_ping_interval(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_ping_interval(None, None, 7), None);
        assert_eq!(watchdog_ping_interval(Some("0"), None, 7), None);
        assert_eq!(watchdog_ping_interval(Some("x"), None, 7), None);
    }
}
