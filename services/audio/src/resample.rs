//! Streaming sample-rate conversion and the microphone framer.
//!
//! [`StreamResampler`] takes mono blocks of any length at one rate and gives mono samples at
//! another, with rubato's FFT resampler (a proper anti-aliasing filter, not sample dropping). Its
//! start-up delay is trimmed, so output sample `n` lines up with input time `n / out_rate`.
//! [`MicPipeline`] turns a device's interleaved blocks into 20 ms, 16 kHz mono s16 frames with
//! capture timestamps.

use std::collections::VecDeque;

use hearth_bus::audio::{MIC_FRAME_SAMPLES, MIC_SAMPLE_RATE_HZ};
use rubato::{FftFixedIn, Resampler as _};

use crate::AudioError;

/// Input samples fed to rubato per call; the FFT resampler rounds it up to a multiple of the
/// rates' smallest common block (3 samples for 48 kHz → 16 kHz, 441 for 44.1 kHz → 16 kHz).
const CHUNK_IN: usize = 1024;
/// Lowest and highest sample rates accepted from devices, files and play chunks, Hertz.
pub const MIN_RATE_HZ: u32 = 4_000;
pub const MAX_RATE_HZ: u32 = 384_000;

/// Checks that a sample rate is one the resampler handles.
pub fn check_rate(rate_hz: u32) -> Result<(), AudioError> {
    if (MIN_RATE_HZ..=MAX_RATE_HZ).contains(&rate_hz) {
        Ok(())
    } else {
        Err(AudioError::BadRate { rate_hz })
    }
}

/// Mono resampler for a stream of blocks.
pub struct StreamResampler {
    in_rate_hz: u32,
    out_rate_hz: u32,
    /// `None` when the rates are equal: samples pass through untouched.
    fft: Option<FftFixedIn<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<Vec<f32>>,
    /// Output samples still to drop: the filter's start-up delay.
    to_trim: usize,
    consumed_in: u64,
    produced_out: u64,
}

impl StreamResampler {
    pub fn new(in_rate_hz: u32, out_rate_hz: u32) -> Result<Self, AudioError> {
        check_rate(in_rate_hz)?;
        check_rate(out_rate_hz)?;
        let fft = if in_rate_hz == out_rate_hz {
            None
        } else {
            Some(
                FftFixedIn::<f32>::new(in_rate_hz as usize, out_rate_hz as usize, CHUNK_IN, 1, 1)
                    .map_err(|e| AudioError::Resampler(e.to_string()))?,
            )
        };
        let (out_buf, to_trim) = match &fft {
            Some(f) => (f.output_buffer_allocate(true), f.output_delay()),
            None => (Vec::new(), 0),
        };
        Ok(Self { in_rate_hz, out_rate_hz, fft, pending: Vec::new(), out_buf, to_trim, consumed_in: 0, produced_out: 0 })
    }

    pub fn in_rate_hz(&self) -> u32 {
        self.in_rate_hz
    }

    pub fn out_rate_hz(&self) -> u32 {
        self.out_rate_hz
    }

    /// Resamples `input`, appending what is ready to `out`. Some input stays buffered until a whole
    /// block is there; [`StreamResampler::flush`] pushes it out at the end of a stream.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.consumed_in += input.len() as u64;
        let Some(fft) = self.fft.as_mut() else {
            out.extend_from_slice(input);
            self.produced_out += input.len() as u64;
            return Ok(());
        };
        self.pending.extend_from_slice(input);
        let mut start = 0;
        while self.pending.len() - start >= fft.input_frames_next() {
            let need = fft.input_frames_next();
            let (_, n) = fft
                .process_into_buffer(&[&self.pending[start..start + need]], &mut self.out_buf, None)
                .map_err(|e| AudioError::Resampler(e.to_string()))?;
            start += need;
            Self::emit(&self.out_buf[0][..n], &mut self.to_trim, &mut self.produced_out, u64::MAX, out);
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// Ends the stream: resamples what is buffered and emits exactly as many samples in total as the
    /// input's duration calls for (`ceil(inputs × out_rate / in_rate)`). The resampler can then start
    /// a new stream.
    pub fn flush(&mut self, out: &mut Vec<f32>) -> Result<(), AudioError> {
        let Some(fft) = self.fft.as_mut() else { return Ok(()) };
        let total = (self.consumed_in * self.out_rate_hz as u64).div_ceil(self.in_rate_hz as u64);
        let mut guard = 0;
        while self.produced_out < total && guard < 64 {
            let need = fft.input_frames_next();
            let take = self.pending.len().min(need);
            let mut block = vec![0.0; need];
            block[..take].copy_from_slice(&self.pending[..take]);
            self.pending.drain(..take);
            let (_, n) = fft
                .process_into_buffer(&[&block], &mut self.out_buf, None)
                .map_err(|e| AudioError::Resampler(e.to_string()))?;
            Self::emit(&self.out_buf[0][..n], &mut self.to_trim, &mut self.produced_out, total, out);
            guard += 1;
        }
        fft.reset();
        self.to_trim = fft.output_delay();
        self.pending.clear();
        self.consumed_in = 0;
        self.produced_out = 0;
        Ok(())
    }

    fn emit(block: &[f32], to_trim: &mut usize, produced: &mut u64, limit: u64, out: &mut Vec<f32>) {
        let skip = (*to_trim).min(block.len());
        *to_trim -= skip;
        let room = limit.saturating_sub(*produced) as usize;
        let keep = &block[skip..][..(block.len() - skip).min(room)];
        out.extend_from_slice(keep);
        *produced += keep.len() as u64;
    }
}

/// Averages interleaved channels into mono.
pub fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    let channels = channels.max(1);
    if channels == 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    let scale = 1.0 / channels as f32;
    out.extend(interleaved.chunks_exact(channels).map(|f| f.iter().sum::<f32>() * scale));
}

/// f32 in [-1, 1] to s16, clamped.
pub fn to_i16(sample: f32) -> i16 {
    (sample * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

/// One 20 ms microphone frame, before it gets its sequence number.
#[derive(Debug, Clone, PartialEq)]
pub struct MicFrame {
    /// Capture time of the first sample, milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// [`MIC_FRAME_SAMPLES`] samples at 16 kHz.
    pub samples: Vec<i16>,
}

/// A jump between the clock of the samples and the capture times given with them beyond which the
/// timestamps are re-anchored (an overrun lost audio, or a source paused), milliseconds.
const REANCHOR_MS: f64 = 200.0;

/// Interleaved blocks at a device's rate in, 16 kHz mono s16 frames of 20 ms out.
pub struct MicPipeline {
    channels: usize,
    in_rate_hz: u32,
    resampler: StreamResampler,
    mono: Vec<f32>,
    resampled: Vec<f32>,
    ready: VecDeque<i16>,
    /// Capture time of input sample 0, milliseconds since the Unix epoch (moved by re-anchoring).
    anchor_ms: Option<f64>,
    input_samples: u64,
    /// 16 kHz samples already handed out in frames.
    framed_samples: u64,
}

impl MicPipeline {
    pub fn new(in_rate_hz: u32, channels: u16) -> Result<Self, AudioError> {
        if channels == 0 {
            return Err(AudioError::BadChannels { channels });
        }
        Ok(Self {
            channels: channels as usize,
            in_rate_hz,
            resampler: StreamResampler::new(in_rate_hz, MIC_SAMPLE_RATE_HZ)?,
            mono: Vec::new(),
            resampled: Vec::new(),
            ready: VecDeque::new(),
            anchor_ms: None,
            input_samples: 0,
            framed_samples: 0,
        })
    }

    /// Feeds one interleaved block whose first sample was captured at `capture_ms` (milliseconds
    /// since the Unix epoch) and appends the frames now complete to `frames`.
    pub fn push(&mut self, interleaved: &[f32], capture_ms: f64, frames: &mut Vec<MicFrame>) -> Result<(), AudioError> {
        let expected = self.anchor_ms.map(|a| a + self.input_samples as f64 * 1000.0 / self.in_rate_hz as f64);
        match expected {
            None => self.anchor_ms = Some(capture_ms),
            Some(e) if (capture_ms - e).abs() > REANCHOR_MS => {
                self.anchor_ms = self.anchor_ms.map(|a| a + (capture_ms - e));
            }
            Some(_) => {}
        }
        self.mono.clear();
        downmix_into(interleaved, self.channels, &mut self.mono);
        self.input_samples += self.mono.len() as u64;
        self.resampled.clear();
        self.resampler.push(&self.mono, &mut self.resampled)?;
        self.ready.extend(self.resampled.iter().map(|&s| to_i16(s)));
        self.take_frames(frames);
        Ok(())
    }

    /// Ends the stream: flushes the resampler and emits the last partial frame padded with silence.
    pub fn finish(&mut self, frames: &mut Vec<MicFrame>) -> Result<(), AudioError> {
        self.resampled.clear();
        self.resampler.flush(&mut self.resampled)?;
        self.ready.extend(self.resampled.iter().map(|&s| to_i16(s)));
        if !self.ready.is_empty() {
            let pad = MIC_FRAME_SAMPLES - self.ready.len() % MIC_FRAME_SAMPLES;
            if pad < MIC_FRAME_SAMPLES {
                self.ready.extend(std::iter::repeat_n(0, pad));
            }
        }
        self.take_frames(frames);
        Ok(())
    }

    fn take_frames(&mut self, frames: &mut Vec<MicFrame>) {
        let anchor = self.anchor_ms.unwrap_or(0.0);
        while self.ready.len() >= MIC_FRAME_SAMPLES {
            let samples: Vec<i16> = self.ready.drain(..MIC_FRAME_SAMPLES).collect();
            let offset_ms = self.framed_samples as f64 * 1000.0 / MIC_SAMPLE_RATE_HZ as f64;
            frames.push(MicFrame { timestamp_ms: (anchor + offset_ms).round() as i64, samples });
            self.framed_samples += MIC_FRAME_SAMPLES as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f32::consts::PI;

    fn sine(rate: u32, freq: f32, seconds: f32, amp: f32) -> Vec<f32> {
        let n = (rate as f32 * seconds) as usize;
        (0..n).map(|i| amp * (2.0 * PI * freq * i as f32 / rate as f32).sin()).collect()
    }

    /// Frequency from zero crossings (rising), over the middle of the signal.
    fn measured_freq(samples: &[f32], rate: u32) -> f32 {
        let s = &samples[samples.len() / 10..samples.len() * 9 / 10];
        let rises: Vec<usize> = (1..s.len()).filter(|&i| s[i - 1] < 0.0 && s[i] >= 0.0).collect();
        let periods = (rises.len() - 1) as f32;
        periods * rate as f32 / (rises[rises.len() - 1] - rises[0]) as f32
    }

    fn rms(s: &[f32]) -> f32 {
        (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt()
    }

    #[test]
    fn resamples_48k_and_44k1_sines_to_16k_with_right_frequency_and_length() {
        for (rate, freq) in [(48_000, 1000.0), (44_100, 440.0), (22_050, 3000.0), (8_000, 300.0)] {
            let input = sine(rate, freq, 1.0, 0.5);
            let mut r = StreamResampler::new(rate, 16_000).unwrap();
            let mut out = Vec::new();
            // Odd block sizes, as a sound card delivers them.
            for block in input.chunks(333) {
                r.push(block, &mut out).unwrap();
            }
            r.flush(&mut out).unwrap();
            assert_eq!(out.len(), 16_000, "{rate} Hz: length");
            let f = measured_freq(&out, 16_000);
            assert!((f - freq).abs() < freq * 0.005, "{rate} Hz: measured {f} Hz, wanted {freq}");
            let level = rms(&out[1600..14400]);
            assert!((level - 0.5 / 2f32.sqrt()).abs() < 0.02, "{rate} Hz: rms {level}");
        }
    }

    #[test]
    fn start_up_delay_is_trimmed() {
        // A click at 0.5 s in must come out at 0.5 s.
        let mut input = vec![0.0f32; 48_000];
        input[24_000] = 1.0;
        let mut r = StreamResampler::new(48_000, 16_000).unwrap();
        let mut out = Vec::new();
        r.push(&input, &mut out).unwrap();
        r.flush(&mut out).unwrap();
        let peak = out.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).unwrap().0;
        assert!((peak as i64 - 8_000).abs() <= 2, "peak at {peak}");
    }

    #[test]
    fn removes_content_above_the_new_nyquist() {
        // 12 kHz cannot exist at 16 kHz; it must be filtered, not folded to 4 kHz.
        let input = sine(48_000, 12_000.0, 0.5, 0.5);
        let mut r = StreamResampler::new(48_000, 16_000).unwrap();
        let mut out = Vec::new();
        r.push(&input, &mut out).unwrap();
        r.flush(&mut out).unwrap();
        assert!(rms(&out[800..7200]) < 0.005, "aliased rms {}", rms(&out));
    }

    #[test]
    fn same_rate_passes_through() {
        let input = sine(16_000, 500.0, 0.1, 0.3);
        let mut r = StreamResampler::new(16_000, 16_000).unwrap();
        let mut out = Vec::new();
        r.push(&input, &mut out).unwrap();
        r.flush(&mut out).unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn rejects_silly_rates() {
        assert!(StreamResampler::new(0, 16_000).is_err());
        assert!(StreamResampler::new(10_000_000, 16_000).is_err());
    }

    #[test]
    fn frames_stereo_48k_into_20ms_frames_with_timestamps() {
        let mono = sine(48_000, 1000.0, 1.0, 0.5);
        let stereo: Vec<f32> = mono.iter().flat_map(|&s| [s, s]).collect();
        let mut p = MicPipeline::new(48_000, 2).unwrap();
        let mut frames = Vec::new();
        let start = 1_700_000_000_000.0;
        let mut t = start;
        for block in stereo.chunks(2 * 480) {
            p.push(block, t, &mut frames).unwrap();
            t += 10.0;
        }
        p.finish(&mut frames).unwrap();
        assert_eq!(frames.len(), 50);
        assert!(frames.iter().all(|f| f.samples.len() == MIC_FRAME_SAMPLES));
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.timestamp_ms, start as i64 + 20 * i as i64);
        }
        let all: Vec<f32> = frames.iter().flat_map(|f| f.samples.iter().map(|&s| s as f32 / 32767.0)).collect();
        assert!((measured_freq(&all, 16_000) - 1000.0).abs() < 5.0);
    }

    #[test]
    fn timestamps_follow_a_gap_in_capture() {
        let block = vec![0.0f32; 320];
        let mut p = MicPipeline::new(16_000, 1).unwrap();
        let mut frames = Vec::new();
        p.push(&block, 1000.0, &mut frames).unwrap();
        p.push(&block, 1020.0, &mut frames).unwrap();
        // An overrun lost a second of audio.
        p.push(&block, 2040.0, &mut frames).unwrap();
        let ts: Vec<i64> = frames.iter().map(|f| f.timestamp_ms).collect();
        assert_eq!(ts, vec![1000, 1020, 2040]);
    }

    #[test]
    fn last_partial_frame_is_padded() {
        let mut p = MicPipeline::new(16_000, 1).unwrap();
        let mut frames = Vec::new();
        p.push(&vec![0.25f32; 500], 0.0, &mut frames).unwrap();
        assert_eq!(frames.len(), 1);
        p.finish(&mut frames).unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[1].samples[179], to_i16(0.25));
        assert_eq!(frames[1].samples[180], 0);
    }
}
