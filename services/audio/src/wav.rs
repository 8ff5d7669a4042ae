//! WAV files: the reader behind `input = "file:…"` and the growing file behind `output = "file:…"`.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};

use crate::resample::{check_rate, to_i16};
use crate::AudioError;

/// Reads a WAV of any rate, channel count and sample format as interleaved f32 blocks.
pub struct WavSource {
    path: PathBuf,
    reader: WavReader<BufReader<File>>,
    spec: WavSpec,
}

impl WavSource {
    pub fn open(path: &Path) -> Result<Self, AudioError> {
        let reader = WavReader::open(path).map_err(|source| AudioError::Wav { path: path.to_path_buf(), source })?;
        let spec = reader.spec();
        check_rate(spec.sample_rate)?;
        if spec.channels == 0 {
            return Err(AudioError::BadChannels { channels: 0 });
        }
        Ok(Self { path: path.to_path_buf(), reader, spec })
    }

    pub fn rate_hz(&self) -> u32 {
        self.spec.sample_rate
    }

    pub fn channels(&self) -> u16 {
        self.spec.channels
    }

    /// Duration of the whole file, milliseconds.
    pub fn duration_ms(&self) -> u64 {
        self.reader.duration() as u64 * 1000 / self.spec.sample_rate as u64
    }

    /// Appends up to `frames` frames (all channels) to `out`; returns how many frames were read,
    /// 0 at the end of the file.
    pub fn read(&mut self, frames: usize, out: &mut Vec<f32>) -> Result<usize, AudioError> {
        let want = frames * self.spec.channels as usize;
        let before = out.len();
        let path = &self.path;
        let err = |source| AudioError::Wav { path: path.clone(), source };
        match (self.spec.sample_format, self.spec.bits_per_sample) {
            (SampleFormat::Float, _) => {
                for s in self.reader.samples::<f32>().take(want) {
                    out.push(s.map_err(err)?);
                }
            }
            (SampleFormat::Int, bits) => {
                let scale = 1.0 / (1u64 << (bits.clamp(1, 32) - 1)) as f32;
                for s in self.reader.samples::<i32>().take(want) {
                    out.push(s.map_err(err)? as f32 * scale);
                }
            }
        }
        let read = out.len() - before;
        // A truncated last frame is dropped so channels stay aligned.
        let whole = read / self.spec.channels as usize;
        out.truncate(before + whole * self.spec.channels as usize);
        Ok(whole)
    }
}

/// A mono s16 WAV that grows with everything played. The header is rewritten on every
/// [`WavSink::flush`], so a reader sees a valid file (everything played until then) at any time.
pub struct WavSink {
    path: PathBuf,
    writer: WavWriter<std::io::BufWriter<File>>,
    rate_hz: u32,
}

impl WavSink {
    /// Creates (or truncates) the file at `path`, creating its folder if needed.
    pub fn create(path: &Path, rate_hz: u32) -> Result<Self, AudioError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AudioError::Io { path: dir.to_path_buf(), source })?;
        }
        let spec = WavSpec { channels: 1, sample_rate: rate_hz, bits_per_sample: 16, sample_format: SampleFormat::Int };
        let mut writer = WavWriter::create(path, spec).map_err(|source| AudioError::Wav { path: path.to_path_buf(), source })?;
        writer.flush().map_err(|source| AudioError::Wav { path: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), writer, rate_hz })
    }

    pub fn rate_hz(&self) -> u32 {
        self.rate_hz
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        let mut w = self.writer.get_i16_writer(samples.len() as u32);
        for &s in samples {
            w.write_sample(to_i16(s));
        }
        w.flush().map_err(|source| AudioError::Wav { path: self.path.clone(), source })
    }

    /// Brings the header up to date and pushes everything to the file.
    pub fn flush(&mut self) -> Result<(), AudioError> {
        self.writer.flush().map_err(|source| AudioError::Wav { path: self.path.clone(), source })
    }

    /// Samples written so far.
    pub fn len(&self) -> u32 {
        self.writer.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_is_readable_after_every_flush() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.wav");
        let mut sink = WavSink::create(&path, 22_050).unwrap();
        assert_eq!(WavReader::open(&path).unwrap().duration(), 0);
        sink.write(&[0.5; 2205]).unwrap();
        sink.flush().unwrap();
        let r = WavReader::open(&path).unwrap();
        assert_eq!(r.duration(), 2205);
        assert_eq!(r.spec().sample_rate, 22_050);
        sink.write(&[-0.25; 100]).unwrap();
        sink.flush().unwrap();
        let samples: Vec<i16> = WavReader::open(&path).unwrap().samples::<i16>().map(|s| s.unwrap()).collect();
        assert_eq!(samples.len(), 2305);
        assert_eq!(samples[0], to_i16(0.5));
        assert_eq!(samples[2304], to_i16(-0.25));
    }

    #[test]
    fn source_reads_int_and_float_files_of_any_layout() {
        let dir = tempfile::tempdir().unwrap();
        let int24 = dir.path().join("a.wav");
        let spec = WavSpec { channels: 2, sample_rate: 44_100, bits_per_sample: 24, sample_format: SampleFormat::Int };
        let mut w = WavWriter::create(&int24, spec).unwrap();
        for _ in 0..441 {
            w.write_sample(4_194_304i32).unwrap(); // half scale
            w.write_sample(-4_194_304i32).unwrap();
        }
        w.finalize().unwrap();
        let mut s = WavSource::open(&int24).unwrap();
        assert_eq!((s.rate_hz(), s.channels(), s.duration_ms()), (44_100, 2, 10));
        let mut out = Vec::new();
        assert_eq!(s.read(400, &mut out).unwrap(), 400);
        assert_eq!(s.read(400, &mut out).unwrap(), 41);
        assert_eq!(s.read(400, &mut out).unwrap(), 0);
        assert_eq!(out.len(), 882);
        assert!((out[0] - 0.5).abs() < 1e-6 && (out[1] + 0.5).abs() < 1e-6);

        let float = dir.path().join("b.wav");
        let spec = WavSpec { channels: 1, sample_rate: 8_000, bits_per_sample: 32, sample_format: SampleFormat::Float };
        let mut w = WavWriter::create(&float, spec).unwrap();
        w.write_sample(0.25f32).unwrap();
        w.finalize().unwrap();
        let mut out = Vec::new();
        WavSource::open(&float).unwrap().read(10, &mut out).unwrap();
        assert_eq!(out, vec![0.25]);

        assert!(matches!(WavSource::open(&dir.path().join("missing.wav")), Err(AudioError::Wav { .. })));
    }
}
