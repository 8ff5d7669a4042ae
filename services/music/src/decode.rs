//! Decoding with `symphonia` (MP3, AAC/M4A, FLAC, Ogg Vorbis, WAV; Ogg Opus through libopus, which
//! symphonia lacks), downmixed to mono and resampled
//! to the speaker's rate with rubato's FFT resampler. The speaker is mono, so sending one channel
//! halves what travels on the bus.
//!
//! A [`Decoder`] is a plain synchronous engine: the streamer thread pulls blocks from it. A corrupt
//! packet is skipped (counted); a file that cannot be opened or has no audio track is an error with
//! a short reason that can be spoken.

use std::fs::File;
use std::path::Path;

use rubato::{FftFixedIn, Resampler as _};
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{Decoder as CodecDecoder, DecoderOptions, CODEC_TYPE_NULL, CODEC_TYPE_OPUS};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::{FormatOptions, FormatReader, SeekMode, SeekTo};
use symphonia::core::io::{MediaSource, MediaSourceStream};
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use symphonia::core::units::Time;
use tracing::debug;

use crate::MusicError;

/// Corrupt packets in a row after which a file is given up.
const MAX_BAD_PACKETS: usize = 50;
/// Input samples fed to rubato per call.
const RESAMPLE_CHUNK: usize = 1024;

/// The packet decoder: symphonia's, or libopus for Opus.
enum Codec {
    Symphonia(Box<dyn CodecDecoder>),
    Opus(OpusCodec),
}

/// libopus at 48 kHz, with the stream's pre-skip (encoder delay) dropped from the start.
struct OpusCodec {
    decoder: opus::Decoder,
    channels: usize,
    pre_skip: usize,
    /// Pre-skip still to drop, frames.
    to_skip: usize,
    buf: Vec<f32>,
}

/// Longest Opus packet: 120 ms at 48 kHz, frames.
const OPUS_MAX_FRAMES: usize = 5760;

impl OpusCodec {
    fn new(channels: usize, pre_skip: usize) -> Result<OpusCodec, MusicError> {
        let layout = if channels >= 2 { opus::Channels::Stereo } else { opus::Channels::Mono };
        let decoder = opus::Decoder::new(48_000, layout).map_err(|e| {
            debug!(error = %e, "libopus");
            MusicError::Decode("its audio format is not supported".into())
        })?;
        let channels = channels.clamp(1, 2);
        Ok(OpusCodec { decoder, channels, pre_skip, to_skip: pre_skip, buf: vec![0.0; OPUS_MAX_FRAMES * channels] })
    }

    /// One packet to mono samples at 48 kHz; `None` for a corrupt packet.
    fn decode(&mut self, packet: &[u8]) -> Option<Vec<f32>> {
        let frames = self.decoder.decode_float(packet, &mut self.buf, false).ok()?;
        let mono: Vec<f32> = self.buf[..frames * self.channels]
            .chunks_exact(self.channels)
            .map(|f| f.iter().sum::<f32>() / self.channels as f32)
            .collect();
        let skip = self.to_skip.min(mono.len());
        self.to_skip -= skip;
        Some(mono[skip..].to_vec())
    }

    fn reset(&mut self) {
        let _ = self.decoder.reset_state();
        self.to_skip = self.pre_skip;
    }
}

/// One open file or stream, producing mono f32 at `out_rate_hz`.
pub struct Decoder {
    format: Box<dyn FormatReader>,
    codec: Codec,
    track_id: u32,
    in_rate_hz: u32,
    resampler: Mono,
    bad_in_a_row: usize,
    /// Packets that failed to decode and were skipped.
    pub bad_packets: usize,
    ended: bool,
}

impl Decoder {
    /// Opens a file; the extension is a hint, the content decides.
    pub fn open(path: &Path, out_rate_hz: u32) -> Result<Decoder, MusicError> {
        let file = File::open(path).map_err(|source| MusicError::Io { path: path.to_path_buf(), source })?;
        let mut hint = Hint::new();
        if let Some(ext) = path.extension().and_then(|e| e.to_str()) {
            hint.with_extension(ext);
        }
        Decoder::from_source(Box::new(file), hint, out_rate_hz)
    }

    /// Opens any byte source (a network stream: not seekable).
    pub fn from_source(source: Box<dyn MediaSource>, hint: Hint, out_rate_hz: u32) -> Result<Decoder, MusicError> {
        let stream = MediaSourceStream::new(source, Default::default());
        let probed = symphonia::default::get_probe()
            .format(&hint, stream, &FormatOptions { enable_gapless: true, ..Default::default() }, &MetadataOptions::default())
            .map_err(|e| {
                debug!(error = %e, "probe failed");
                MusicError::Decode("it is not in a format I can play".into())
            })?;
        let format = probed.format;
        let track = format
            .tracks()
            .iter()
            .find(|t| t.codec_params.codec != CODEC_TYPE_NULL)
            .ok_or_else(|| MusicError::Decode("it has no sound in it".into()))?;
        let track_id = track.id;
        let codec = if track.codec_params.codec == CODEC_TYPE_OPUS {
            let channels = track.codec_params.channels.map_or(2, |c| c.count());
            Codec::Opus(OpusCodec::new(channels, track.codec_params.delay.unwrap_or(0) as usize)?)
        } else {
            Codec::Symphonia(symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions::default()).map_err(|e| {
                debug!(error = %e, "no decoder");
                MusicError::Decode("its audio format is not supported".into())
            })?)
        };
        // Some streams (ADTS AAC, MP3 over HTTP) only say their rate in the first packet.
        let in_rate_hz = track.codec_params.sample_rate.unwrap_or(0);
        Ok(Decoder {
            format,
            codec,
            track_id,
            in_rate_hz,
            resampler: Mono::new(in_rate_hz.max(1), out_rate_hz)?,
            bad_in_a_row: 0,
            bad_packets: 0,
            ended: false,
        })
    }

    /// The next block of mono samples at the output rate; `None` at the end.
    pub fn next_block(&mut self) -> Result<Option<Vec<f32>>, MusicError> {
        loop {
            if self.ended {
                return Ok(None);
            }
            let packet = match self.format.next_packet() {
                Ok(p) => p,
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.ended = true;
                    let tail = self.resampler.flush()?;
                    return Ok((!tail.is_empty()).then_some(tail));
                }
                Err(SymError::ResetRequired) => {
                    self.reset_codec();
                    continue;
                }
                Err(e) => {
                    debug!(error = %e, "decoding stopped");
                    return Err(MusicError::Decode(why_stopped(&e)));
                }
            };
            if packet.track_id() != self.track_id {
                continue;
            }
            let codec = match &mut self.codec {
                Codec::Symphonia(c) => c,
                Codec::Opus(o) => {
                    let Some(mono) = o.decode(&packet.data) else {
                        self.bad_packets += 1;
                        self.bad_in_a_row += 1;
                        if self.bad_in_a_row >= MAX_BAD_PACKETS {
                            return Err(MusicError::Decode("it is damaged".into()));
                        }
                        continue;
                    };
                    self.bad_in_a_row = 0;
                    if self.in_rate_hz != 48_000 {
                        self.in_rate_hz = 48_000;
                        self.resampler = Mono::new(48_000, self.resampler.out_rate_hz)?;
                    }
                    let out = self.resampler.push(&mono)?;
                    if !out.is_empty() {
                        return Ok(Some(out));
                    }
                    continue;
                }
            };
            let decoded = match codec.decode(&packet) {
                Ok(d) => d,
                Err(SymError::DecodeError(why)) => {
                    self.bad_packets += 1;
                    self.bad_in_a_row += 1;
                    debug!(why, "skipping a corrupt packet");
                    if self.bad_in_a_row >= MAX_BAD_PACKETS {
                        return Err(MusicError::Decode("it is damaged".into()));
                    }
                    continue;
                }
                Err(e) => {
                    debug!(error = %e, "decoding stopped");
                    return Err(MusicError::Decode(why_stopped(&e)));
                }
            };
            self.bad_in_a_row = 0;
            let spec = *decoded.spec();
            if decoded.frames() == 0 {
                continue;
            }
            if spec.rate != self.in_rate_hz {
                self.in_rate_hz = spec.rate;
                self.resampler = Mono::new(spec.rate, self.resampler.out_rate_hz)?;
            }
            let channels = spec.channels.count().max(1);
            let mut buf = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
            buf.copy_interleaved_ref(decoded);
            let mono: Vec<f32> =
                buf.samples().chunks_exact(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32).collect();
            let out = self.resampler.push(&mono)?;
            if !out.is_empty() {
                return Ok(Some(out));
            }
        }
    }

    fn reset_codec(&mut self) {
        match &mut self.codec {
            Codec::Symphonia(c) => c.reset(),
            Codec::Opus(o) => o.reset(),
        }
    }

    /// Jumps to `position_ms` from the start (files only; streams say they cannot).
    pub fn seek(&mut self, position_ms: u64) -> Result<(), MusicError> {
        let time = Time::new(position_ms / 1000, (position_ms % 1000) as f64 / 1000.0);
        self.format
            .seek(SeekMode::Accurate, SeekTo::Time { time, track_id: Some(self.track_id) })
            .map_err(|e| MusicError::Decode(format!("cannot seek ({e})")))?;
        self.reset_codec();
        self.resampler = Mono::new(self.in_rate_hz.max(1), self.resampler.out_rate_hz)?;
        self.ended = false;
        Ok(())
    }
}

/// A decoder error mid-way, as a spoken reason.
fn why_stopped(e: &SymError) -> String {
    match e {
        // A radio stream's reader turns network trouble into I/O errors.
        SymError::IoError(_) => "the stream broke off".into(),
        _ => "it is damaged".into(),
    }
}

/// Mono streaming resampler; passes samples through when the rates are equal. Its start-up delay is
/// trimmed so the output lines up with the input.
pub struct Mono {
    out_rate_hz: u32,
    fft: Option<FftFixedIn<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<Vec<f32>>,
    to_trim: usize,
    consumed_in: u64,
    produced_out: u64,
    in_rate_hz: u32,
}

impl Mono {
    pub fn new(in_rate_hz: u32, out_rate_hz: u32) -> Result<Mono, MusicError> {
        let fft = if in_rate_hz == out_rate_hz {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(in_rate_hz as usize, out_rate_hz as usize, RESAMPLE_CHUNK, 1, 1)
                    .map_err(|e| MusicError::Decode(format!("cannot resample from {in_rate_hz} Hz ({e})")))?,
            )
        };
        let (out_buf, to_trim) = match &fft {
            Some(f) => (f.output_buffer_allocate(true), f.output_delay()),
            None => (Vec::new(), 0),
        };
        Ok(Mono { out_rate_hz, fft, pending: Vec::new(), out_buf, to_trim, consumed_in: 0, produced_out: 0, in_rate_hz })
    }

    pub fn push(&mut self, input: &[f32]) -> Result<Vec<f32>, MusicError> {
        self.consumed_in += input.len() as u64;
        let Some(fft) = self.fft.as_mut() else {
            self.produced_out += input.len() as u64;
            return Ok(input.to_vec());
        };
        self.pending.extend_from_slice(input);
        let mut out = Vec::new();
        loop {
            let need = fft.input_frames_next();
            if self.pending.len() < need {
                break;
            }
            let (_, produced) = fft
                .process_into_buffer(&[&self.pending[..need]], &mut self.out_buf, None)
                .map_err(|e| MusicError::Decode(format!("resampler failed ({e})")))?;
            self.pending.drain(..need);
            let skip = self.to_trim.min(produced);
            self.to_trim -= skip;
            out.extend_from_slice(&self.out_buf[0][skip..produced]);
        }
        self.produced_out += out.len() as u64;
        Ok(out)
    }

    /// The rest, padded through the filter, cut to the length the input implies.
    pub fn flush(&mut self) -> Result<Vec<f32>, MusicError> {
        let Some(fft) = self.fft.as_mut() else { return Ok(Vec::new()) };
        let expected = (self.consumed_in as u128 * self.out_rate_hz as u128 / self.in_rate_hz as u128) as u64;
        let mut out = Vec::new();
        // A few rounds of zeros push the filter's delay out; `pending` is always shorter than a block.
        for _ in 0..8 {
            if self.produced_out + out.len() as u64 >= expected {
                break;
            }
            let mut block = std::mem::take(&mut self.pending);
            block.resize(fft.input_frames_next(), 0.0);
            let (_, produced) = fft
                .process_into_buffer(&[&block[..]], &mut self.out_buf, None)
                .map_err(|e| MusicError::Decode(format!("resampler failed ({e})")))?;
            let skip = self.to_trim.min(produced);
            self.to_trim -= skip;
            out.extend_from_slice(&self.out_buf[0][skip..produced]);
        }
        out.truncate(expected.saturating_sub(self.produced_out) as usize);
        self.produced_out += out.len() as u64;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resampling_keeps_the_duration() {
        for (from, to) in [(44_100, 48_000), (48_000, 22_050), (16_000, 16_000)] {
            let mut r = Mono::new(from, to).unwrap();
            let mut n = 0;
            for _ in 0..10 {
                n += r.push(&vec![0.25; from as usize / 10]).unwrap().len();
            }
            n += r.flush().unwrap().len();
            assert!((n as i64 - to as i64).abs() <= 2, "{from} -> {to}: {n}");
        }
    }
}
