//! One stream's producer: a thread that decodes an item and hands fixed-size chunks to the service
//! through a small bounded channel. The channel is the back pressure: the service takes a chunk
//! only while the speaker is less than `lead_ms` behind, so the thread waits on a full channel
//! instead of decoding ahead. Dropping the receiver ends the thread at its next chunk.

use std::path::PathBuf;

use hearth_bus::audio::samples_to_pcm;
use hearth_bus::ids::new_id;
use hearth_bus::music::MusicChunk;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::decode::Decoder;
use crate::MusicError;

/// Chunks decoded ahead of the service: the rest waits in the decoder.
const AHEAD_CHUNKS: usize = 4;

/// What the producer sends.
#[derive(Debug)]
pub enum Produced {
    Chunk(MusicChunk),
    /// The item cannot be played (or stopped playing): the short reason, said after "I can't play
    /// that: ". A last chunk was sent before it when any audio was.
    Failed(String),
}

/// What a producer decodes.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    /// A radio stream: opened by the radio module.
    Radio(crate::radio::Station),
}

/// A running producer: the receiving end and the stream's id.
pub struct Producer {
    pub stream_id: String,
    pub rx: mpsc::Receiver<Produced>,
}

/// Starts decoding `source` from `offset_ms` into chunks of `chunk_ms` at `rate_hz`.
pub fn start(source: Source, offset_ms: u64, rate_hz: u32, chunk_ms: u32, http: Option<crate::radio::Http>) -> Producer {
    let stream_id = new_id();
    let (tx, rx) = mpsc::channel(AHEAD_CHUNKS);
    let id = stream_id.clone();
    let spawned = std::thread::Builder::new().name("hearth-music-decode".into()).spawn(move || {
        let opened = match &source {
            Source::File(path) => Decoder::open(path, rate_hz),
            Source::Radio(station) => match http {
                Some(http) => crate::radio::open(&http, station, rate_hz),
                None => Err(MusicError::Decode("internet radio is off".into())),
            },
        };
        let mut decoder = match opened {
            Ok(d) => d,
            Err(e) => {
                warn!(?source, error = %e, "cannot play");
                let _ = tx.blocking_send(Produced::Failed(e.to_string()));
                return;
            }
        };
        if offset_ms > 0 {
            if let Err(e) = decoder.seek(offset_ms) {
                debug!(error = %e, "cannot seek; starting from the beginning");
            }
        }
        produce(&mut decoder, &id, rate_hz, chunk_ms, &tx);
    });
    if let Err(e) = spawned {
        warn!(error = %e, "cannot start a decoder thread");
    }
    Producer { stream_id, rx }
}

fn produce(decoder: &mut Decoder, stream_id: &str, rate_hz: u32, chunk_ms: u32, tx: &mpsc::Sender<Produced>) {
    let per_chunk = (rate_hz as usize * chunk_ms as usize / 1000).max(1);
    let mut pending: Vec<i16> = Vec::with_capacity(per_chunk * 2);
    let mut seq = 0u32;
    let chunk = |seq: u32, pcm: &[i16], last: bool| {
        Produced::Chunk(MusicChunk { stream_id: stream_id.to_string(), seq, sample_rate_hz: rate_hz, channels: 1, pcm: samples_to_pcm(pcm), last })
    };
    let failure = loop {
        match decoder.next_block() {
            Ok(Some(block)) => {
                pending.extend(block.iter().map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16));
                while pending.len() >= per_chunk {
                    let rest = pending.split_off(per_chunk);
                    if tx.blocking_send(chunk(seq, &pending, false)).is_err() {
                        return; // the service let go: stopped, paused or skipped
                    }
                    seq += 1;
                    pending = rest;
                }
            }
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        }
    };
    if tx.blocking_send(chunk(seq, &pending, true)).is_err() {
        return;
    }
    if let Some(why) = failure {
        warn!(stream_id, %why, "playback failed part way");
        let _ = tx.blocking_send(Produced::Failed(why));
    }
}
