//! The bus benchmark: 20 ms microphone frames (msgpack, 640 bytes of PCM) from one publisher per
//! site to subscribers of every site's frames (as wake and listen are), through the embedded broker
//! and, side by side in the same run, through mosquitto when it is installed. Both brokers see the
//! same Hearth client, so the difference between the rows is the broker.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use hearth_bus::audio::{AudioFrame, MIC_FRAME_SAMPLES};
use hearth_bus::{Bus, BusClient, BusConfig, Connection, Inbox};

#[derive(Args)]
pub struct BusBenchArgs {
    /// Frames per site sent at the real rate (50 a second) for the latency figures.
    #[arg(long, default_value_t = 500)]
    pub paced_frames: u64,
    /// Frames per site sent as fast as possible for the throughput figure.
    #[arg(long, default_value_t = 20_000)]
    pub burst_frames: u64,
    /// Subscribers that each take every site's frames (wake and listen both do: 2 is a real node).
    #[arg(long, default_value_t = 1)]
    pub subscribers: usize,
    /// Sites streaming at once, one publisher each.
    #[arg(long, default_value_t = 1)]
    pub sites: usize,
    /// Rounds, each measuring every broker in turn (the first one alternating), so that a busy spell on
    /// the machine does not land on one broker only. Latencies are pooled, burst rates averaged.
    #[arg(long, default_value_t = 2)]
    pub rounds: usize,
    /// Subscribe at QoS 1 as `hearth tap` and whole-tree test probes do, instead of at the frames' own
    /// QoS 0 as wake and listen do. rumqttd then delivers every frame at QoS 1 (it does not lower the
    /// delivery to the publish QoS), through its window of 100 unacknowledged messages per client.
    #[arg(long)]
    pub subscribe_qos1: bool,
    /// Let the kernel batch the clients' small writes (Nagle's algorithm, `bus.tcp_nodelay = false`).
    #[arg(long)]
    pub nagle: bool,
    /// Skip mosquitto even if it is installed.
    #[arg(long)]
    pub no_mosquitto: bool,
}

/// What one broker measured in one round.
struct Round {
    /// Publish-to-delivery latencies of the paced frames, every subscriber's copy, milliseconds.
    latencies_ms: Vec<f64>,
    paced_lost: u64,
    /// Frames a second that reached the slowest subscriber, all sites together.
    burst_fps: f64,
    burst_lost: u64,
}

/// A broker's figures over all rounds.
struct Figures {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    paced_lost: u64,
    burst_fps: f64,
    burst_lost: u64,
}

impl Figures {
    fn of(rounds: &[Round]) -> Self {
        let mut lat: Vec<f64> = rounds.iter().flat_map(|r| r.latencies_ms.iter().copied()).collect();
        lat.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
        Self {
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: lat.last().copied().unwrap_or(f64::NAN),
            paced_lost: rounds.iter().map(|r| r.paced_lost).sum(),
            burst_fps: rounds.iter().map(|r| r.burst_fps).sum::<f64>() / rounds.len().max(1) as f64,
            burst_lost: rounds.iter().map(|r| r.burst_lost).sum(),
        }
    }
}

/// A subscriber gives up waiting after this long without a frame (the missing ones count as lost).
const IDLE_TIMEOUT: Duration = Duration::from_secs(2);
/// Sequence numbers of the burst start here, so a late paced frame is never counted in the burst.
const BURST_BASE: u64 = 1_000_000;

pub async fn run(args: BusBenchArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(args.sites >= 1 && args.subscribers >= 1, "--sites and --subscribers must be at least 1");
    anyhow::ensure!(args.paced_frames >= 1 && args.burst_frames >= 1, "send at least one frame in each phase");
    anyhow::ensure!(args.rounds >= 1, "--rounds must be at least 1");
    let embedded = hearth_broker::start_on_free_ports()?;
    let mut brokers = vec![("hearth (rumqttd)", embedded.mqtt.port())];
    let mut _mosquitto = None;
    if !args.no_mosquitto {
        match start_mosquitto() {
            Ok((child, port)) => {
                _mosquitto = Some(child);
                brokers.push(("mosquitto", port));
            }
            Err(e) => eprintln!("mosquitto not measured: {e}"),
        }
    }
    let mut rounds: Vec<Vec<Round>> = brokers.iter().map(|_| Vec::new()).collect();
    for round in 0..args.rounds {
        for k in 0..brokers.len() {
            let b = (k + round) % brokers.len();
            rounds[b].push(measure(brokers[b].1, &args).await?);
        }
    }
    println!(
        "20 ms audio frames ({} bytes of PCM each), QoS 0, loopback, TCP_NODELAY on both brokers: {} site(s) streaming, {} subscriber(s) to every site's frames",
        MIC_FRAME_SAMPLES * 2,
        args.sites,
        args.subscribers
    );
    if args.subscribe_qos1 {
        println!("subscribed at QoS 1 (--subscribe-qos1)");
    }
    if args.nagle {
        println!("clients with Nagle's algorithm (--nagle)");
    }
    println!(
        "{} round(s); latency: {} paced frames per site, every subscriber's copy; burst: {} frames per site, rate at the slowest subscriber; embedded broker skips: {}",
        args.rounds,
        args.paced_frames,
        args.burst_frames,
        embedded.lagging_skips()
    );
    println!("{:<18} {:>9} {:>9} {:>9} {:>6} {:>12} {:>10} {:>6}", "broker", "p50 ms", "p99 ms", "max ms", "lost", "burst fps", "Mbit/s", "lost");
    for ((name, _), rounds) in brokers.iter().zip(&rounds) {
        let f = Figures::of(rounds);
        let mbit_s = f.burst_fps * (MIC_FRAME_SAMPLES * 2) as f64 * 8.0 / 1e6;
        println!(
            "{:<18} {:>9.3} {:>9.3} {:>9.3} {:>6} {:>12.0} {:>10.1} {:>6}",
            name, f.p50_ms, f.p99_ms, f.max_ms, f.paced_lost, f.burst_fps, mbit_s, f.burst_lost
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn site_name(i: usize) -> String {
    format!("bench{i}")
}

/// Send times of the paced frames, nanoseconds after `origin`, by site and sequence number.
struct SentAt {
    origin: Instant,
    nanos: Vec<Vec<AtomicU64>>,
}

impl SentAt {
    fn new(sites: usize, frames: u64) -> Self {
        let nanos = (0..sites).map(|_| (0..frames).map(|_| AtomicU64::new(0)).collect()).collect();
        Self { origin: Instant::now(), nanos }
    }

    fn mark(&self, site: usize, seq: u64) {
        self.nanos[site][seq as usize].store(self.origin.elapsed().as_nanos() as u64, Ordering::Release);
    }

    fn latency_ms(&self, site: usize, seq: u64, now: Instant) -> Option<f64> {
        let sent = self.nanos.get(site)?.get(seq as usize)?.load(Ordering::Acquire);
        let at = now.duration_since(self.origin).as_nanos() as u64;
        (sent != 0).then(|| at.saturating_sub(sent) as f64 / 1e6)
    }
}

/// One received frame: its site index and sequence number.
fn frame_of(envelope: &hearth_bus::Envelope) -> Option<(usize, u64)> {
    let site = envelope.site()?.strip_prefix("bench")?.parse().ok()?;
    Some((site, envelope.decode::<AudioFrame>()?.seq))
}

async fn measure(port: u16, args: &BusBenchArgs) -> anyhow::Result<Round> {
    let config = BusConfig { host: "127.0.0.1".into(), port, tcp_nodelay: !args.nagle, ..BusConfig::default() };
    let mut connections: Vec<Connection> = Vec::new();
    let mut publishers: Vec<BusClient> = Vec::new();
    for i in 0..args.sites {
        let (bus, conn) = Bus::connect_tool(&config, "bench-pub", &site_name(i))?;
        bus.client.wait_connected(Duration::from_secs(5)).await?;
        publishers.push(bus.client);
        connections.push(conn);
    }
    let mut inboxes: Vec<Inbox> = Vec::new();
    for _ in 0..args.subscribers {
        let (bus, conn) = Bus::connect_tool(&config, "bench-sub", "bench")?;
        bus.client.wait_connected(Duration::from_secs(5)).await?;
        if args.subscribe_qos1 {
            bus.client.subscribe(hearth_bus::topic::filter_all_sites::<AudioFrame>()).await?;
        } else {
            bus.client.subscribe_all_sites::<AudioFrame>().await?;
        }
        inboxes.push(bus.inbox);
        connections.push(conn);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let samples = Arc::new(vec![0i16; MIC_FRAME_SAMPLES]);

    // Latency at the real rate: every site sends a frame every 20 ms, the sites out of step.
    let n = args.paced_frames;
    let sent = Arc::new(SentAt::new(args.sites, n));
    let receivers: Vec<_> = inboxes
        .into_iter()
        .map(|mut inbox| {
            let (sent, sites) = (sent.clone(), args.sites);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut finished = vec![false; sites];
                while let Ok(Some(e)) = tokio::time::timeout(IDLE_TIMEOUT, inbox.recv()).await {
                    let now = Instant::now();
                    let Some((site, seq)) = frame_of(&e) else { continue };
                    latencies.extend(sent.latency_ms(site, seq, now));
                    if seq + 1 == n && site < sites {
                        finished[site] = true;
                        if finished.iter().all(|f| *f) {
                            break;
                        }
                    }
                }
                (latencies, inbox)
            })
        })
        .collect();
    let senders: Vec<_> = publishers
        .iter()
        .enumerate()
        .map(|(site, publisher)| {
            let (publisher, sent, samples, sites) = (publisher.clone(), sent.clone(), samples.clone(), args.sites);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_micros(20_000 * site as u64 / sites as u64)).await;
                let mut tick = tokio::time::interval(Duration::from_millis(20));
                for seq in 0..n {
                    tick.tick().await;
                    let frame = AudioFrame::from_samples(seq, 0, 16_000, 1, &samples);
                    sent.mark(site, seq);
                    publisher.publish(&site_name(site), &frame).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for s in senders {
        s.await??;
    }
    let mut latencies = Vec::new();
    let mut inboxes = Vec::new();
    for r in receivers {
        let (lat, inbox) = r.await?;
        latencies.extend(lat);
        inboxes.push(inbox);
    }
    let paced_lost = (n * args.sites as u64 * args.subscribers as u64).saturating_sub(latencies.len() as u64);

    // Throughput: every site publishes as fast as its client can.
    let n = args.burst_frames;
    let started = Instant::now();
    let counters: Vec<_> = inboxes
        .into_iter()
        .map(|mut inbox| {
            let sites = args.sites;
            tokio::spawn(async move {
                let (mut got, mut last) = (0u64, Instant::now());
                let mut finished = vec![false; sites];
                while let Ok(Some(e)) = tokio::time::timeout(IDLE_TIMEOUT, inbox.recv()).await {
                    let Some((site, seq)) = frame_of(&e) else { continue };
                    if seq < BURST_BASE || site >= sites {
                        continue;
                    }
                    got += 1;
                    last = Instant::now();
                    if seq + 1 == BURST_BASE + n {
                        finished[site] = true;
                        if finished.iter().all(|f| *f) {
                            break;
                        }
                    }
                }
                (got, last)
            })
        })
        .collect();
    let senders: Vec<_> = publishers
        .iter()
        .enumerate()
        .map(|(site, publisher)| {
            let (publisher, samples) = (publisher.clone(), samples.clone());
            tokio::spawn(async move {
                let topic_site = site_name(site);
                for seq in BURST_BASE..BURST_BASE + n {
                    let frame = AudioFrame::from_samples(seq, 0, 16_000, 1, &samples);
                    publisher.publish(&topic_site, &frame).await?;
                }
                anyhow::Ok(())
            })
        })
        .collect();
    for s in senders {
        s.await??;
    }
    let (mut burst_fps, mut burst_got) = (f64::INFINITY, 0u64);
    for c in counters {
        let (got, last) = c.await?;
        burst_got += got;
        burst_fps = burst_fps.min(got as f64 / last.duration_since(started).as_secs_f64().max(1e-9));
    }
    for conn in connections {
        conn.close().await;
    }
    Ok(Round {
        latencies_ms: latencies,
        paced_lost,
        burst_fps,
        burst_lost: (n * args.sites as u64 * args.subscribers as u64).saturating_sub(burst_got),
    })
}

/// Starts mosquitto on a free loopback port; killed when the returned child is dropped.
fn start_mosquitto() -> anyhow::Result<(KillOnDrop, u16)> {
    let port = hearth_broker::free_loopback_port()?.port();
    let dir = std::env::temp_dir().join(format!("hearth-bench-mosquitto-{port}"));
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("mosquitto.conf");
    // Nagle's algorithm off, as on the embedded broker (see broker/architecture.md), so that the rows
    // compare the brokers and not their socket options.
    std::fs::write(
        &conf,
        format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmessage_size_limit 0\nset_tcp_nodelay true\n"),
    )?;
    let program = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"].into_iter().find(|p| std::path::Path::new(p).is_file())
        .ok_or_else(|| anyhow::anyhow!("not installed (apt-get install mosquitto)"))?;
    let child = std::process::Command::new(program)
        .arg("-c")
        .arg(&conf)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let guard = KillOnDrop(child);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(5), "mosquitto did not start on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((guard, port))
}

struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
