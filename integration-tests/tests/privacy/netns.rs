//! A network of two namespaces for the privacy test: the test (and `hearth up`) in a namespace of its own
//! whose only way out is a veth pair to a second namespace, "the internet", where stand-ins for the tool
//! hosts listen and a packet socket records everything that arrives from the assistant's side.

use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The assistant's side of the veth pair.
pub const HOUSE: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
/// "The internet": the only address the house can reach.
pub const INTERNET: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

/// Runs `ip …` (or another tool) and fails the test, with its output, when it fails.
pub fn sh(program: &str, args: &[&str]) {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    assert!(out.status.success(), "{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// The named namespace playing the internet; deleted (with its end of the veth) on drop.
pub struct Internet {
    pub name: String,
}

impl Internet {
    /// Must run inside the test's own network namespace (see `privacy.rs`): brings up loopback, makes the
    /// internet namespace, the veth pair between them and a default route through it, with IPv6 off on
    /// both sides so every packet is an IPv4 one the recorder understands.
    pub fn create() -> Internet {
        let name = format!("hearth-internet-{}", std::process::id());
        sh("ip", &["link", "set", "lo", "up"]);
        sh("ip", &["netns", "add", &name]);
        let internet = Internet { name: name.clone() };
        sh("sysctl", &["-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
        sh("ip", &["netns", "exec", &name, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"]);
        sh("ip", &["link", "add", "house0", "type", "veth", "peer", "name", "inet0", "netns", &name]);
        sh("ip", &["addr", "add", &format!("{HOUSE}/24"), "dev", "house0"]);
        sh("ip", &["link", "set", "house0", "up"]);
        sh("ip", &["route", "add", "default", "via", &INTERNET.to_string()]);
        sh("ip", &["-n", &name, "addr", "add", &format!("{INTERNET}/24"), "dev", "inet0"]);
        sh("ip", &["-n", &name, "link", "set", "inet0", "up"]);
        sh("ip", &["-n", &name, "link", "set", "lo", "up"]);
        internet
    }

    /// Runs `f` on a new thread that has entered the internet namespace: sockets it makes live there.
    pub fn run_inside<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> std::thread::JoinHandle<T> {
        let path = format!("/var/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let ns = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            // SAFETY: setns on a valid namespace file descriptor changes only this thread's namespace.
            let rc = unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(rc, 0, "setns {path}: {}", std::io::Error::last_os_error());
            f()
        })
    }
}

impl Drop for Internet {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Something the house sent towards the internet.
#[derive(Debug, Clone, PartialEq)]
pub enum Egress {
    /// A TCP connection attempt (SYN).
    Connect { to: Ipv4Addr, port: u16 },
    /// A DNS query, with the name asked for.
    Dns { to: Ipv4Addr, name: String },
    /// Any other UDP datagram.
    Udp { to: Ipv4Addr, port: u16, bytes: usize },
    /// Any other IPv4 packet (ICMP and the like).
    Other { to: Ipv4Addr, protocol: u8 },
}

/// Records every IPv4 packet from [`HOUSE`] that reaches the internet namespace, except the packets of
/// TCP connections already recorded (their SYN is what counts).
pub struct Recorder {
    pub seen: Arc<Mutex<Vec<(Instant, Egress)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Recorder {
    pub fn start(internet: &Internet) -> Recorder {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (seen_in, stop_in) = (seen.clone(), stop.clone());
        let thread = internet.run_inside(move || {
            let socket = packet_socket();
            ready_tx.send(()).unwrap();
            let mut frame = vec![0u8; 65_536];
            while !stop_in.load(Ordering::Relaxed) {
                // SAFETY: `frame` is writable for its whole length.
                let n = unsafe { libc::recv(socket.as_raw_fd(), frame.as_mut_ptr().cast(), frame.len(), 0) };
                if n <= 0 {
                    continue; // the 200 ms receive timeout, so that `stop` is noticed
                }
                if let Some(egress) = parse_ethernet(&frame[..n as usize]) {
                    seen_in.lock().unwrap().push((Instant::now(), egress));
                }
            }
        });
        ready_rx.recv().expect("the recorder thread started");
        Recorder { seen, stop, thread: Some(thread) }
    }

    pub fn since(&self, from: Instant) -> Vec<Egress> {
        self.seen.lock().unwrap().iter().filter(|(at, _)| *at >= from).map(|(_, e)| e.clone()).collect()
    }

    pub fn all(&self) -> Vec<Egress> {
        self.seen.lock().unwrap().iter().map(|(_, e)| e.clone()).collect()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// An AF_PACKET socket for every protocol on every interface of the calling thread's namespace, with a
/// 200 ms receive timeout.
fn packet_socket() -> OwnedFd {
    let all = (libc::ETH_P_ALL as u16).to_be() as i32;
    // SAFETY: plain socket(2); the descriptor is owned below.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW, all) };
    assert!(fd >= 0, "packet socket: {}", std::io::Error::last_os_error());
    // SAFETY: `fd` is a fresh descriptor nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(fd) };
    let timeout = libc::timeval { tv_sec: 0, tv_usec: 200_000 };
    // SAFETY: SO_RCVTIMEO takes a timeval of exactly this size.
    let rc = unsafe {
        libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, (&timeout as *const libc::timeval).cast(), std::mem::size_of::<libc::timeval>() as u32)
    };
    assert_eq!(rc, 0, "SO_RCVTIMEO: {}", std::io::Error::last_os_error());
    socket
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const TCP: u8 = 6;
const UDP: u8 = 17;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// The egress an Ethernet frame from the house stands for; `None` for everything else (ARP, replies
/// from the internet, packets of connections already counted).
pub fn parse_ethernet(frame: &[u8]) -> Option<Egress> {
    if frame.len() < 14 + 20 || u16::from_be_bytes([frame[12], frame[13]]) != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = &frame[14..];
    let header = usize::from(ip[0] & 0x0f) * 4;
    let protocol = ip[9];
    let from = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let to = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    if from != HOUSE || ip.len() < header + 8 {
        return None;
    }
    let payload = &ip[header..];
    let port = u16::from_be_bytes([payload[2], payload[3]]);
    match protocol {
        TCP => {
            let flags = *payload.get(13)?;
            (flags & TCP_SYN != 0 && flags & TCP_ACK == 0).then_some(Egress::Connect { to, port })
        }
        UDP if port == 53 => Some(Egress::Dns { to, name: dns_question(&payload[8..]).unwrap_or_else(|| "?".into()) }),
        UDP => Some(Egress::Udp { to, port, bytes: payload.len() - 8 }),
        _ => Some(Egress::Other { to, protocol }),
    }
}

/// The name in a DNS query's first question.
fn dns_question(message: &[u8]) -> Option<String> {
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*message.get(at)?);
        if len == 0 {
            break;
        }
        labels.push(String::from_utf8_lossy(message.get(at + 1..at + 1 + len)?).into_owned());
        at += 1 + len;
    }
    Some(labels.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(protocol: u8, transport: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        let mut ip = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, protocol, 0, 0];
        ip.extend_from_slice(&HOUSE.octets());
        ip.extend_from_slice(&[1, 1, 1, 1]);
        f.extend(ip);
        f.extend_from_slice(transport);
        f
    }

    #[test]
    fn syns_and_dns_questions_are_read_and_the_rest_of_a_connection_is_not() {
        let mut syn = vec![0u8; 20];
        syn[2..4].copy_from_slice(&443u16.to_be_bytes());
        syn[13] = TCP_SYN;
        assert_eq!(parse_ethernet(&frame(TCP, &syn)), Some(Egress::Connect { to: Ipv4Addr::new(1, 1, 1, 1), port: 443 }));
        syn[13] = TCP_ACK;
        assert_eq!(parse_ethernet(&frame(TCP, &syn)), None);
        let mut dns = vec![0u8; 8 + 12];
        dns[2..4].copy_from_slice(&53u16.to_be_bytes());
        dns.extend_from_slice(b"\x03api\x0aopen-meteo\x03com\x00\x00\x01\x00\x01");
        assert_eq!(parse_ethernet(&frame(UDP, &dns)), Some(Egress::Dns { to: Ipv4Addr::new(1, 1, 1, 1), name: "api.open-meteo.com".into() }));
    }
}
