//! `hearth tap [FILTER]`: every bus message as one JSON line. JSON payloads are printed as they are;
//! audio (msgpack) is summarised as sequence, samples and level in dBFS.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use hearth_bus::audio::{level_dbfs, pcm_to_samples, AudioFrame, PlayChunk};
use hearth_bus::ids::new_id;
use hearth_bus::listen::Utterance;
use hearth_bus::{Bus, Envelope, Shutdown};
use hearth_node::NodeFile;
use serde_json::{json, Value};

#[derive(Args)]
pub struct TapArgs {
    /// An MQTT filter (`hearth/kitchen/#`), or a domain (`wake`, `tts`) to watch on every site.
    /// Default: everything under `hearth/`.
    pub filter: Option<String>,
}

pub async fn run(file: &NodeFile, args: TapArgs) -> anyhow::Result<ExitCode> {
    let filter = match args.filter {
        None => "hearth/#".to_string(),
        Some(f) if f.contains('/') || f == "#" => f,
        Some(domain) => format!("hearth/+/{domain}/#"),
    };
    let (bus, connection) = Bus::connect_tool(&file.node.bus, &format!("tap-{}", &new_id()[..6]), &file.node.site)?;
    let Bus { client, mut inbox } = bus;
    client.wait_connected(std::time::Duration::from_secs(5)).await?;
    client.subscribe(filter.clone()).await?;
    eprintln!("tapping {filter} on {} (Ctrl-C to stop)", file.node.bus.addr());
    let shutdown = Shutdown::on_signals();
    let stdout = std::io::stdout();
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                let line = json!({ "topic": envelope.topic, "retain": envelope.retain, "payload": summarise(&envelope) });
                let mut out = stdout.lock();
                if writeln!(out, "{line}").is_err() {
                    break; // stdout closed (piped into head): stop quietly.
                }
            }
        }
    }
    connection.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The payload as JSON: parsed JSON, audio summaries, or a byte count for anything else.
pub fn summarise(envelope: &Envelope) -> Value {
    let audio = |pcm: &[u8]| {
        let samples = pcm_to_samples(pcm);
        (samples.len(), (level_dbfs(&samples) * 10.0).round() / 10.0)
    };
    if let Some(f) = envelope.decode::<AudioFrame>() {
        let (n, db) = audio(&f.pcm);
        return json!({ "seq": f.seq, "samples": n, "sample_rate_hz": f.sample_rate_hz, "level_dbfs": db });
    }
    if let Some(c) = envelope.decode::<PlayChunk>() {
        let (n, db) = audio(&c.pcm);
        return json!({ "utterance_id": c.utterance_id, "session_id": c.session_id, "seq": c.seq, "samples": n,
                       "sample_rate_hz": c.sample_rate_hz, "level_dbfs": db, "last": c.last });
    }
    if let Some(u) = envelope.decode::<Utterance>() {
        let (n, db) = audio(&u.pcm);
        return json!({ "session_id": u.session_id, "samples": n, "sample_rate_hz": u.sample_rate_hz, "level_dbfs": db });
    }
    match serde_json::from_slice::<Value>(&envelope.payload) {
        Ok(v) => v,
        Err(_) => json!({ "bytes": envelope.payload.len(), "undecoded": true }),
    }
}
