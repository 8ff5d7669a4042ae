//! The bus benchmark: 20 ms microphone frames (msgpack, 640 bytes of PCM) through the embedded
//! broker and, side by side in the same run, through mosquitto when it is installed.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use hearth_bus::audio::{AudioFrame, MIC_FRAME_SAMPLES};
use hearth_bus::{Bus, BusConfig};

#[derive(Args)]
pub struct BusBenchArgs {
    /// Frames sent at the real rate (50 a second) for the latency figures.
    #[arg(long, default_value_t = 500)]
    pub paced_frames: u64,
    /// Frames sent as fast as possible for the throughput figure.
    #[arg(long, default_value_t = 20_000)]
    pub burst_frames: u64,
    /// Skip mosquitto even if it is installed.
    #[arg(long)]
    pub no_mosquitto: bool,
}

struct Figures {
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    paced_lost: u64,
    burst_fps: f64,
    burst_mbit_s: f64,
    burst_lost: u64,
}

pub async fn run(args: BusBenchArgs) -> anyhow::Result<ExitCode> {
    let embedded = hearth_broker::start_on_free_ports()?;
    let mut rows = vec![("hearth (rumqttd)", measure(embedded.mqtt.port(), &args).await?)];
    let mut _mosquitto = None;
    if !args.no_mosquitto {
        match start_mosquitto() {
            Ok((child, port)) => {
                _mosquitto = Some(child);
                rows.push(("mosquitto", measure(port, &args).await?));
            }
            Err(e) => eprintln!("mosquitto not measured: {e}"),
        }
    }
    println!("20 ms audio frames ({} bytes of PCM each), QoS 0, one publisher and one subscriber on loopback", MIC_FRAME_SAMPLES * 2);
    println!("{:<18} {:>9} {:>9} {:>9} {:>6} {:>12} {:>10} {:>6}", "broker", "p50 ms", "p99 ms", "max ms", "lost", "burst fps", "Mbit/s", "lost");
    for (name, f) in rows {
        println!(
            "{:<18} {:>9.3} {:>9.3} {:>9.3} {:>6} {:>12.0} {:>10.1} {:>6}",
            name, f.p50_ms, f.p99_ms, f.max_ms, f.paced_lost, f.burst_fps, f.burst_mbit_s, f.burst_lost
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn measure(port: u16, args: &BusBenchArgs) -> anyhow::Result<Figures> {
    let config = BusConfig { host: "127.0.0.1".into(), port, ..BusConfig::default() };
    let (publisher, pub_conn) = Bus::connect_tool(&config, "bench-pub", "bench")?;
    let (subscriber, sub_conn) = Bus::connect_tool(&config, "bench-sub", "bench")?;
    publisher.client.wait_connected(Duration::from_secs(5)).await?;
    let Bus { client: sub, mut inbox } = subscriber;
    sub.wait_connected(Duration::from_secs(5)).await?;
    sub.subscribe_site::<AudioFrame>("bench").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let samples = vec![0i16; MIC_FRAME_SAMPLES];
    // Latency at the real rate: one frame every 20 ms.
    let latencies = {
        let sent_rx = sent.clone();
        let n = args.paced_frames;
        let receiver = tokio::spawn(async move {
            let sent = sent_rx;
            let mut lat = Vec::new();
            while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(2), inbox.recv()).await {
                let now = Instant::now();
                if let Some(f) = e.decode::<AudioFrame>() {
                    if let Some(t) = sent.lock().unwrap().get(&f.seq) {
                        lat.push(now.duration_since(*t).as_secs_f64() * 1000.0);
                    }
                    if f.seq + 1 == n {
                        break;
                    }
                }
            }
            (lat, inbox)
        });
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        for seq in 0..n {
            tick.tick().await;
            let frame = AudioFrame::from_samples(seq, 0, 16_000, 1, &samples);
            sent.lock().unwrap().insert(seq, Instant::now());
            publisher.client.publish("bench", &frame).await?;
        }
        receiver.await?
    };
    let (mut lat, mut inbox) = latencies;
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat.get(((lat.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(f64::NAN);
    let paced_lost = args.paced_frames - lat.len() as u64;

    // Throughput: as fast as the client can publish.
    let base = 1_000_000u64;
    let started = Instant::now();
    let n = args.burst_frames;
    let counter = tokio::spawn(async move {
        let mut got = 0u64;
        let mut last = Instant::now();
        while let Ok(Some(e)) = tokio::time::timeout(Duration::from_secs(2), inbox.recv()).await {
            if let Some(f) = e.decode::<AudioFrame>() {
                if f.seq >= base {
                    got += 1;
                    last = Instant::now();
                    if f.seq + 1 == base + n {
                        break;
                    }
                }
            }
        }
        (got, last)
    });
    for seq in base..base + n {
        let frame = AudioFrame::from_samples(seq, 0, 16_000, 1, &samples);
        publisher.client.publish("bench", &frame).await?;
    }
    let (got, last) = counter.await?;
    let secs = last.duration_since(started).as_secs_f64().max(1e-9);
    pub_conn.close().await;
    sub_conn.close().await;
    Ok(Figures {
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
        paced_lost,
        burst_fps: got as f64 / secs,
        burst_mbit_s: got as f64 * (MIC_FRAME_SAMPLES * 2) as f64 * 8.0 / secs / 1e6,
        burst_lost: n - got,
    })
}

/// Starts mosquitto on a free loopback port; killed when the returned child is dropped.
fn start_mosquitto() -> anyhow::Result<(KillOnDrop, u16)> {
    let port = hearth_broker::free_loopback_port()?.port();
    let dir = std::env::temp_dir().join(format!("hearth-bench-mosquitto-{port}"));
    std::fs::create_dir_all(&dir)?;
    let conf = dir.join("mosquitto.conf");
    std::fs::write(&conf, format!("listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nmessage_size_limit 0\n"))?;
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
