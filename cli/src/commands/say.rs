//! `hearth say "…"`: a typed turn. Publishes a transcript as if spoken and prints each sentence of the
//! answer as it is sent to the voice, until the brain's reply summary arrives.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use clap::Args;
use hearth_bus::asr::{Transcript, TranscriptSource};
use hearth_bus::brain::Reply;
use hearth_bus::ids::new_id;
use hearth_bus::tts::Say;
use hearth_bus::Bus;
use hearth_node::NodeFile;

#[derive(Args)]
pub struct SayArgs {
    /// What to ask.
    pub text: String,
    /// Site (room) to ask at; default from the config.
    #[arg(long)]
    pub site: Option<String>,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 120)]
    pub timeout_s: u64,
}

pub async fn run(file: &NodeFile, args: SayArgs) -> anyhow::Result<ExitCode> {
    let site = args.site.unwrap_or_else(|| file.node.site.clone());
    let (bus, connection) = Bus::connect_tool(&file.node.bus, &format!("say-{}", &new_id()[..6]), &site)?;
    let Bus { client, mut inbox } = bus;
    client.wait_connected(Duration::from_secs(5)).await?;
    client.subscribe_site::<Say>(&site).await?;
    client.subscribe_site::<Reply>(&site).await?;
    let session_id = new_id();
    let transcript = Transcript {
        session_id: session_id.clone(),
        text: args.text,
        source: TranscriptSource::Typed,
        audio_ms: 0,
        processing_ms: 0,
    };
    client.publish(&site, &transcript).await?;
    let ours = |s: &Option<String>| s.as_deref() == Some(session_id.as_str());
    // The broker keeps order within a topic, not across topics: the reply summary can overtake the
    // last sentences. Once it arrives, keep printing until everything it lists has been printed.
    let answered = tokio::time::timeout(Duration::from_secs(args.timeout_s), async {
        let mut printed: Vec<String> = Vec::new();
        let mut expected: Option<String> = None;
        loop {
            if expected.as_deref().is_some_and(|e| printed.join(" ") == e) {
                return true;
            }
            let next = match expected {
                None => inbox.recv().await,
                // A short grace for stragglers once the summary is in.
                Some(_) => match tokio::time::timeout(Duration::from_secs(2), inbox.recv()).await {
                    Ok(e) => e,
                    Err(_) => return true,
                },
            };
            let Some(envelope) = next else { return false };
            if let Some(say) = envelope.decode::<Say>() {
                if ours(&say.session_id) && !say.text.is_empty() {
                    println!("{}", say.text);
                    printed.push(say.text);
                }
            } else if let Some(reply) = envelope.decode::<Reply>() {
                if reply.session_id == session_id {
                    expected = Some(reply.text);
                }
            }
        }
    })
    .await;
    connection.close().await;
    match answered {
        Ok(true) => Ok(ExitCode::SUCCESS),
        _ => bail!(
            "no answer within {} s at site `{site}`: is the assistant running (`hearth up`) with its brain service?",
            args.timeout_s
        ),
    }
}
