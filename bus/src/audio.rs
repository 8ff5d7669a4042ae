//! Audio: microphone frames in, speech and chimes out, and the controls of the audio service.

use serde::{Deserialize, Serialize};

use crate::{json_message, msgpack_message};

/// The sample rate of every microphone frame and captured utterance on the bus, in Hertz.
pub const MIC_SAMPLE_RATE_HZ: u32 = 16_000;
/// Samples per microphone frame: 20 ms at 16 kHz. Small frames keep wake and VAD latency low.
pub const MIC_FRAME_SAMPLES: usize = 320;

/// One frame of microphone audio (msgpack) on `hearth/<site>/audio/frame`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioFrame {
    /// Frame counter since the audio service started; gaps mean lost frames.
    pub seq: u64,
    /// Capture time of the first sample, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Sample rate in Hertz (always 16000 from the audio service).
    pub sample_rate_hz: u32,
    /// Interleaved channels (always 1 from the audio service).
    pub channels: u16,
    /// Signed 16-bit little-endian PCM.
    #[serde(with = "serde_bytes")]
    pub pcm: Vec<u8>,
}
msgpack_message!(AudioFrame, "audio/frame");

impl AudioFrame {
    pub fn from_samples(seq: u64, timestamp_ms: i64, sample_rate_hz: u32, channels: u16, samples: &[i16]) -> Self {
        Self { seq, timestamp_ms, sample_rate_hz, channels, pcm: samples_to_pcm(samples) }
    }

    pub fn samples(&self) -> Vec<i16> {
        pcm_to_samples(&self.pcm)
    }

    /// Duration of the frame in milliseconds.
    pub fn duration_ms(&self) -> f64 {
        pcm_duration_ms(self.pcm.len(), self.sample_rate_hz, self.channels)
    }
}

/// A chunk of audio to play (msgpack) on `hearth/<site>/audio/play`. Chunks of one utterance share an
/// `utterance_id`, arrive in `seq` order, and the last one has `last = true`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayChunk {
    /// One spoken reply or announcement; the `played` event names it.
    pub utterance_id: String,
    /// The turn this belongs to, absent for announcements outside a turn (timers).
    #[serde(default)]
    pub session_id: Option<String>,
    /// Chunk number within the utterance, from 0.
    pub seq: u32,
    /// Sample rate in Hertz (any; the speaker resamples).
    pub sample_rate_hz: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Signed 16-bit little-endian PCM; may be empty on the closing chunk.
    #[serde(with = "serde_bytes")]
    pub pcm: Vec<u8>,
    /// True on the final chunk of the utterance.
    pub last: bool,
}
msgpack_message!(PlayChunk, "audio/play");

/// Published by the audio service when an utterance finished playing, on `hearth/<site>/audio/played`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Played {
    pub utterance_id: String,
    #[serde(default)]
    pub session_id: Option<String>,
    /// Audio played, in milliseconds.
    pub duration_ms: u64,
    /// True when playback was cut short by a stop or barge-in.
    pub interrupted: bool,
}
json_message!(Played, "audio/played");

/// Short sounds the audio service plays itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChimeKind {
    /// The assistant started listening.
    Listening,
    /// The utterance was captured; the assistant is thinking.
    GotIt,
    /// A timer is due.
    Timer,
    /// Something failed.
    Error,
    #[serde(other)]
    Unknown,
}

/// Play a chime, on `hearth/<site>/audio/chime`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chime {
    pub chime: ChimeKind,
    #[serde(default)]
    pub session_id: Option<String>,
}
json_message!(Chime, "audio/chime");

/// Stop playback now and drop what is queued (barge-in, "stop"), on `hearth/<site>/audio/stop`.
/// The TTS service also drops the sentences it has queued.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StopPlayback {
    /// Why, for logs: `wake`, `user`, `new_turn`.
    pub reason: String,
}
json_message!(StopPlayback, "audio/stop");

/// Set the speaker volume, on `hearth/<site>/audio/volume/set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetVolume {
    /// Percent, 0 to 100.
    pub volume: u8,
}
json_message!(SetVolume, "audio/volume/set");

/// The speaker volume now (retained), on `hearth/<site>/audio/volume`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// Percent, 0 to 100.
    pub volume: u8,
}
json_message!(Volume, "audio/volume", retain);

/// Mute or unmute the microphone, on `hearth/<site>/audio/mic/set`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SetMicMuted {
    pub muted: bool,
}
json_message!(SetMicMuted, "audio/mic/set");

/// Whether the microphone is muted (retained), on `hearth/<site>/audio/mic`. A muted microphone
/// publishes no frames at all.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MicState {
    pub muted: bool,
}
json_message!(MicState, "audio/mic", retain);

/// Lower other sound (future music) while the assistant speaks, on `hearth/<site>/audio/duck`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Duck {
    pub active: bool,
}
json_message!(Duck, "audio/duck");

/// s16 samples to little-endian bytes.
pub fn samples_to_pcm(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

/// Little-endian bytes to s16 samples; a trailing odd byte is ignored.
pub fn pcm_to_samples(pcm: &[u8]) -> Vec<i16> {
    pcm.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

/// Duration of `bytes` of s16 PCM, in milliseconds.
pub fn pcm_duration_ms(bytes: usize, sample_rate_hz: u32, channels: u16) -> f64 {
    if sample_rate_hz == 0 || channels == 0 {
        return 0.0;
    }
    (bytes / 2) as f64 / channels as f64 / sample_rate_hz as f64 * 1000.0
}

/// RMS level of s16 samples in dBFS (full scale sine = -3 dBFS); silence gives -120.
pub fn level_dbfs(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let sum: f64 = samples.iter().map(|&s| (s as f64 / 32768.0).powi(2)).sum();
    let rms = (sum / samples.len() as f64).sqrt();
    if rms <= 1e-6 { -120.0 } else { 20.0 * rms.log10() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    #[test]
    fn frame_roundtrips_through_msgpack() {
        let samples: Vec<i16> = (0..320).map(|i| (i * 100 - 16000) as i16).collect();
        let frame = AudioFrame::from_samples(7, 1_700_000_000_000, 16000, 1, &samples);
        let bytes = frame.to_payload().unwrap();
        // Binary PCM, not an array of integers: about 640 bytes plus a small header.
        assert!(bytes.len() < 720, "payload {} bytes", bytes.len());
        let back = AudioFrame::from_payload(&bytes).unwrap();
        assert_eq!(back, frame);
        assert_eq!(back.samples(), samples);
        assert_eq!(back.duration_ms(), 20.0);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(AudioFrame::from_payload(b"{\"seq\":1}").is_err());
        assert!(AudioFrame::from_payload(&[0xc1, 0xff, 0x00]).is_err());
        assert!(Played::from_payload(&[0x92, 0x01]).is_err());
    }

    #[test]
    fn levels() {
        assert_eq!(level_dbfs(&[0; 100]), -120.0);
        let full: Vec<i16> = (0..1600).map(|i| ((i as f64 * 0.1).sin() * 32767.0) as i16).collect();
        let l = level_dbfs(&full);
        assert!((l + 3.0).abs() < 0.2, "{l}");
    }

    #[test]
    fn unknown_chime_kinds_decode() {
        let c = Chime::from_payload(br#"{"chime":"doorbell"}"#).unwrap();
        assert_eq!(c.chime, ChimeKind::Unknown);
    }
}
