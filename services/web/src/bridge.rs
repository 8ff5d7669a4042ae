//! One browser as one room: the page's WebSocket on one side, the bus on the other. For its site the
//! bridge is the audio service: the browser's microphone becomes `audio/frame`, and `audio/play`,
//! `audio/chime` and `audio/stop` go to the browser, which plays them and answers `audio/played`. It
//! also forwards what the page shows (state, transcript, reply).
//!
//! The page's messages: binary = one frame of 16 kHz mono s16le PCM (at most one second); text = JSON
//! [`FromPage`]. The bridge's messages: text = JSON [`ToPage`], each `chunk` followed by one binary
//! message with its PCM (s16le at the chunk's `sample_rate_hz`) unless it is empty.

use futures_util::{SinkExt, StreamExt};
use hearth_bus::asr::Transcript;
use hearth_bus::audio::{AudioFrame, Chime, PlayChunk, Played, StopPlayback, MIC_SAMPLE_RATE_HZ};
use hearth_bus::brain::{AssistantState, Reply, StateChanged};
use hearth_bus::ids::{new_id, now_ms};
use hearth_bus::listen::{ListenReason, ListeningEnded, ListeningStarted, StartListening};
use hearth_bus::wake::WakeDetected;
use hearth_bus::{Bus, BusClient, BusConfig, BusError, Envelope, Message, Shutdown};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::WebSocketStream;
use tracing::{info, warn};

/// Largest microphone message accepted: one second of 16 kHz s16.
const MAX_FRAME_BYTES: usize = 32_000;

/// What the page sends (besides binary microphone frames).
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FromPage {
    /// The push-to-talk button.
    PushToTalk,
    /// An utterance finished playing (or was cut by a stop).
    Played { utterance_id: String, session_id: Option<String>, duration_ms: u64, interrupted: bool },
    #[serde(other)]
    Unknown,
}

/// What the bridge sends the page as JSON.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToPage {
    /// Connected: the site this page now is.
    Hello { site: String },
    /// A piece of an utterance to play; its PCM follows as one binary message when `bytes` > 0.
    Chunk { utterance_id: String, session_id: Option<String>, seq: u32, sample_rate_hz: u32, channels: u16, bytes: usize, last: bool },
    /// Stop playing and drop what is queued.
    Stop,
    /// The assistant's state at this site.
    State { state: AssistantState },
    Wake { word: String },
    Listening { active: bool },
    Transcript { text: String },
    Reply { text: String },
}

/// Runs one page's session until it disconnects or shutdown.
pub async fn run<S>(mut ws: WebSocketStream<S>, site: String, bus_config: &BusConfig, shutdown: Shutdown) -> Result<(), BusError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (bus, connection) = Bus::connect(bus_config, "audio", &site)?;
    let Bus { client, mut inbox } = bus;
    subscribe(&client, &site).await?;
    client.set_capabilities(vec!["web-satellite".into()]).await?;
    info!(%site, "web satellite connected");
    let mut seq: u64 = 0;
    let hello = ToPage::Hello { site: site.clone() };
    let mut open = send_json(&mut ws, &hello).await;
    while open {
        tokio::select! {
            _ = shutdown.wait() => break,
            message = ws.next() => {
                let Some(Ok(message)) = message else { break };
                match message {
                    WsMessage::Binary(pcm) => on_mic_frame(&client, &site, &pcm, &mut seq).await,
                    WsMessage::Text(text) => on_page_message(&client, &site, &text).await,
                    WsMessage::Close(_) => break,
                    _ => {}
                }
            }
            envelope = inbox.recv() => {
                let Some(envelope) = envelope else { break };
                open = on_bus_message(&mut ws, &envelope).await;
            }
        }
    }
    info!(%site, "web satellite disconnected");
    let _ = ws.close(None).await;
    connection.close().await;
    Ok(())
}

async fn subscribe(client: &BusClient, site: &str) -> Result<(), BusError> {
    client.subscribe_site::<PlayChunk>(site).await?;
    client.subscribe_site::<Chime>(site).await?;
    client.subscribe_site::<StopPlayback>(site).await?;
    client.subscribe_site::<StateChanged>(site).await?;
    client.subscribe_site::<WakeDetected>(site).await?;
    client.subscribe_site::<ListeningStarted>(site).await?;
    client.subscribe_site::<ListeningEnded>(site).await?;
    client.subscribe_site::<Transcript>(site).await?;
    client.subscribe_site::<Reply>(site).await
}

async fn on_mic_frame(client: &BusClient, site: &str, pcm: &[u8], seq: &mut u64) {
    if pcm.is_empty() || pcm.len() % 2 != 0 || pcm.len() > MAX_FRAME_BYTES {
        if hearth_bus::codec::count_dropped(&format!("web/bad-frame/{site}")) % 100 == 1 {
            warn!(site, bytes = pcm.len(), "dropping a microphone frame: need 16 kHz mono s16le, at most one second");
        }
        return;
    }
    let samples = pcm.len() / 2;
    // The frame ended now: its first sample was captured its length ago.
    let timestamp_ms = now_ms() - (samples as i64 * 1000 / MIC_SAMPLE_RATE_HZ as i64);
    let frame = AudioFrame { seq: *seq, timestamp_ms, sample_rate_hz: MIC_SAMPLE_RATE_HZ, channels: 1, pcm: pcm.to_vec() };
    *seq += 1;
    publish(client, site, &frame).await;
}

async fn on_page_message(client: &BusClient, site: &str, text: &str) {
    match serde_json::from_str::<FromPage>(text) {
        Ok(FromPage::PushToTalk) => {
            let start = StartListening { session_id: None, reason: ListenReason::PushToTalk, no_speech_timeout_ms: None };
            publish(client, site, &start).await;
        }
        Ok(FromPage::Played { utterance_id, session_id, duration_ms, interrupted }) => {
            publish(client, site, &Played { utterance_id, session_id, duration_ms, interrupted }).await;
        }
        Ok(FromPage::Unknown) | Err(_) => {
            if hearth_bus::codec::count_dropped(&format!("web/bad-message/{site}")) % 100 == 1 {
                warn!(site, "dropping a message from the page that is not understood");
            }
        }
    }
}

/// Forwards one bus message to the page; false once the page is gone.
async fn on_bus_message<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, envelope: &Envelope) -> bool {
    if let Some(chunk) = envelope.decode::<PlayChunk>() {
        return send_chunk(ws, chunk).await;
    }
    if let Some(chime) = envelope.decode::<Chime>() {
        let samples = hearth_audio::chime::render(chime.chime, MIC_SAMPLE_RATE_HZ);
        let kind = serde_json::to_value(chime.chime).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        let chunk = PlayChunk {
            utterance_id: format!("chime-{kind}-{}", new_id()),
            session_id: chime.session_id,
            seq: 0,
            sample_rate_hz: MIC_SAMPLE_RATE_HZ,
            channels: 1,
            pcm: hearth_bus::audio::samples_to_pcm(&samples),
            last: true,
        };
        return send_chunk(ws, chunk).await;
    }
    let to_page = if envelope.decode::<StopPlayback>().is_some() {
        ToPage::Stop
    } else if let Some(state) = envelope.decode::<StateChanged>() {
        ToPage::State { state: state.state }
    } else if let Some(wake) = envelope.decode::<WakeDetected>() {
        ToPage::Wake { word: wake.word }
    } else if envelope.decode::<ListeningStarted>().is_some() {
        ToPage::Listening { active: true }
    } else if envelope.decode::<ListeningEnded>().is_some() {
        ToPage::Listening { active: false }
    } else if let Some(t) = envelope.decode::<Transcript>() {
        ToPage::Transcript { text: t.text }
    } else if let Some(r) = envelope.decode::<Reply>() {
        ToPage::Reply { text: r.text }
    } else {
        return true;
    };
    send_json(ws, &to_page).await
}

async fn send_chunk<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, chunk: PlayChunk) -> bool {
    let meta = ToPage::Chunk {
        utterance_id: chunk.utterance_id,
        session_id: chunk.session_id,
        seq: chunk.seq,
        sample_rate_hz: chunk.sample_rate_hz,
        channels: chunk.channels,
        bytes: chunk.pcm.len(),
        last: chunk.last,
    };
    if !send_json(ws, &meta).await {
        return false;
    }
    chunk.pcm.is_empty() || ws.send(WsMessage::Binary(chunk.pcm)).await.is_ok()
}

async fn send_json<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>, msg: &ToPage) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => ws.send(WsMessage::Text(text)).await.is_ok(),
        Err(_) => true,
    }
}

async fn publish<M: Message>(client: &BusClient, site: &str, msg: &M) {
    if let Err(error) = client.publish(site, msg).await {
        warn!(topic = M::SUFFIX, %error, "could not publish");
    }
}
