//! `hearth announce "…" [--site S…] [--everywhere]`: one announcement spoken in several rooms at once
//! ("dinner is ready"). Each room gets its own `tts/say` utterance (no session: no follow-up, no
//! conversation) and waits for nobody. `--everywhere` means every room whose audio service is online
//! now, read from the retained `service/audio/status` topics.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use hearth_bus::ids::new_id;
use hearth_bus::service::{service_of, status_topic, ServiceState, ServiceStatus};
use hearth_bus::tts::Say;
use hearth_bus::{Bus, Envelope};
use hearth_node::NodeFile;

#[derive(Args)]
pub struct AnnounceArgs {
    /// What to say.
    pub text: String,
    /// A room to say it in (repeatable).
    #[arg(long = "site")]
    pub sites: Vec<String>,
    /// Every room whose audio (a speaker, a satellite, a browser) is online.
    #[arg(long)]
    pub everywhere: bool,
}

/// How long retained statuses take to arrive, at most.
const RETAINED_WAIT: Duration = Duration::from_millis(700);

pub async fn run(file: &NodeFile, args: AnnounceArgs) -> anyhow::Result<ExitCode> {
    if args.text.trim().is_empty() {
        bail!("nothing to announce");
    }
    let (bus, connection) = Bus::connect_tool(&file.node.bus, &format!("announce-{}", &new_id()[..6]), &file.node.site)?;
    let Bus { client, mut inbox } = bus;
    client.wait_connected(Duration::from_secs(5)).await.context("cannot reach the broker")?;
    let mut sites: BTreeSet<String> = args.sites.iter().cloned().collect();
    if args.everywhere {
        client.subscribe(status_topic("+", "audio")).await?;
        let mut statuses = Vec::new();
        while let Ok(Some(envelope)) = tokio::time::timeout(RETAINED_WAIT, inbox.recv()).await {
            statuses.push(envelope);
        }
        sites.extend(rooms_with_audio(&statuses));
    }
    if sites.is_empty() {
        bail!("no room to announce in: name one with --site, or use --everywhere with a room's audio online");
    }
    for site in &sites {
        hearth_bus::topic::validate_site(site).map_err(|why| anyhow::anyhow!("--site {site}: {why}"))?;
        let say = Say { utterance_id: new_id(), session_id: None, seq: 0, text: args.text.clone(), last: true };
        client.publish(site, &say).await?;
        println!("announced in {site}");
    }
    connection.close().await;
    Ok(ExitCode::SUCCESS)
}

/// The sites whose retained audio status is `online`.
fn rooms_with_audio(statuses: &[Envelope]) -> BTreeSet<String> {
    statuses
        .iter()
        .filter(|e| e.suffix().and_then(|s| service_of(s, "status")) == Some("audio"))
        .filter(|e| e.decode::<ServiceStatus>().is_some_and(|s| s.state == ServiceState::Online))
        .filter_map(|e| e.site().map(str::to_owned))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hearth_bus::Message;

    fn status(site: &str, service: &str, state: ServiceState) -> Envelope {
        let payload = ServiceStatus { state, detail: None, timestamp_ms: 0 }.to_payload().unwrap();
        Envelope { topic: status_topic(site, service), payload, retain: true }
    }

    #[test]
    fn everywhere_is_every_room_with_its_audio_online() {
        let statuses = [
            status("kitchen", "audio", ServiceState::Online),
            status("study", "audio", ServiceState::Online),
            status("garage", "audio", ServiceState::Offline),
            status("hall", "wake", ServiceState::Online),
        ];
        let rooms: Vec<String> = rooms_with_audio(&statuses).into_iter().collect();
        assert_eq!(rooms, ["kitchen", "study"]);
    }
}
