//! Sound cards through cpal: finding a device by name, opening capture and playback streams at the
//! device's own rate and format, and the message a person reads when there is no device.
//!
//! Neither callback blocks, locks or allocates: capture pushes samples into a lock-free ring
//! (`rtrb`) that the capture thread drains; playback pops mono samples from another ring that the
//! speaker thread fills, and plays silence when it is empty.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};

use crate::AudioError;

/// Capture ring size, seconds of audio at the device's rate: room for the capture thread to be
/// late without losing samples.
const CAPTURE_RING_S: f32 = 0.5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Input,
    Output,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Input => "capture",
            Direction::Output => "playback",
        }
    }
}

/// One device as `hearth doctor` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceListing {
    /// ALSA id (`hw:CARD=0,DEV=0`, `null`, `default`).
    pub id: String,
    pub name: String,
    pub input: bool,
    pub output: bool,
}

/// Every device the default host lists.
pub fn list_devices() -> Result<Vec<DeviceListing>, AudioError> {
    let host = cpal::default_host();
    let devices = host.devices().map_err(|e| AudioError::Device(format!("cannot list audio devices: {e}")))?;
    Ok(devices
        .map(|d| DeviceListing { id: device_id(&d), name: device_name(&d), input: d.supports_input(), output: d.supports_output() })
        .collect())
}

fn device_id(d: &cpal::Device) -> String {
    d.id().map(|id| id.id().to_string()).unwrap_or_default()
}

fn device_name(d: &cpal::Device) -> String {
    d.description().map(|desc| desc.name().to_string()).unwrap_or_else(|_| device_id(d))
}

/// The default device when `wanted` is empty, else the device whose id or name contains it
/// (case-insensitive; an exact id such as `null` or `default` wins).
fn find_device(direction: Direction, wanted: &str) -> Result<cpal::Device, AudioError> {
    let host = cpal::default_host();
    let wanted = wanted.trim();
    if wanted.is_empty() {
        let d = match direction {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        };
        return d.ok_or_else(|| AudioError::NoDevice { direction, detail: "the system has no default device".into() });
    }
    let devices: Vec<cpal::Device> =
        host.devices().map_err(|e| AudioError::NoDevice { direction, detail: format!("cannot list devices: {e}") })?.collect();
    let lower = wanted.to_lowercase();
    let fits = |d: &cpal::Device| match direction {
        Direction::Input => d.supports_input(),
        Direction::Output => d.supports_output(),
    };
    let exact = devices.iter().find(|d| device_id(d).eq_ignore_ascii_case(wanted));
    let partial = || {
        devices.iter().filter(|d| fits(d)).find(|d| {
            device_id(d).to_lowercase().contains(&lower) || device_name(d).to_lowercase().contains(&lower)
        })
    };
    if let Some(d) = exact.or_else(partial) {
        return Ok(d.clone());
    }
    let names: Vec<String> = devices.iter().filter(|d| fits(d)).map(|d| format!("{} ({})", device_id(d), device_name(d))).collect();
    let found = if names.is_empty() { "none".to_string() } else { names.join(", ") };
    Err(AudioError::NoDevice {
        direction,
        detail: format!("no {} device matches {wanted:?}; {} devices found: {found}", direction.word(), direction.word()),
    })
}

/// The error for a device that was found but cannot be opened.
fn open_failure(direction: Direction, device: &cpal::Device) -> impl Fn(cpal::Error) -> AudioError {
    let id = device_id(device);
    move |e: cpal::Error| AudioError::NoDevice {
        direction,
        detail: format!(
            "{} device {id:?} cannot be opened: {} ({:?})",
            direction.word(),
            e.to_string().trim_end_matches('.'),
            e.kind()
        ),
    }
}

/// An open capture stream. Dropping it closes the device.
pub struct Capture {
    pub description: String,
    pub rate_hz: u32,
    pub channels: u16,
    pub samples: rtrb::Consumer<f32>,
    /// Samples the callback could not store because the ring was full.
    pub overruns: Arc<AtomicU64>,
    /// Set by the stream's error callback when the device failed (unplugged).
    pub failure: Arc<Mutex<Option<String>>>,
    _stream: cpal::Stream,
}

/// Opens the capture device at its default (native) rate, channel count and sample format.
pub fn open_capture(wanted: &str) -> Result<Capture, AudioError> {
    let direction = Direction::Input;
    let device = find_device(direction, wanted)?;
    let fail = open_failure(direction, &device);
    let supported = device.default_input_config().map_err(&fail)?;
    let config = supported.config();
    let rate_hz = config.sample_rate;
    let channels = config.channels;
    let capacity = ((rate_hz as f32 * channels as f32 * CAPTURE_RING_S) as usize).max(4096);
    let (producer, samples) = rtrb::RingBuffer::new(capacity);
    let overruns = Arc::new(AtomicU64::new(0));
    let failure = Arc::new(Mutex::new(None));
    let stream = match supported.sample_format() {
        SampleFormat::I8 => build_capture::<i8>(&device, config, producer, &overruns, &failure),
        SampleFormat::I16 => build_capture::<i16>(&device, config, producer, &overruns, &failure),
        SampleFormat::I32 => build_capture::<i32>(&device, config, producer, &overruns, &failure),
        SampleFormat::U8 => build_capture::<u8>(&device, config, producer, &overruns, &failure),
        SampleFormat::U16 => build_capture::<u16>(&device, config, producer, &overruns, &failure),
        SampleFormat::U32 => build_capture::<u32>(&device, config, producer, &overruns, &failure),
        SampleFormat::F32 => build_capture::<f32>(&device, config, producer, &overruns, &failure),
        SampleFormat::F64 => build_capture::<f64>(&device, config, producer, &overruns, &failure),
        other => return Err(AudioError::NoDevice { direction, detail: format!("sample format {other} is not supported") }),
    }
    .map_err(&fail)?;
    stream.play().map_err(&fail)?;
    let description = format!("{} ({}), {rate_hz} Hz, {channels} ch, {}", device_name(&device), device_id(&device), supported.sample_format());
    Ok(Capture { description, rate_hz, channels, samples, overruns, failure, _stream: stream })
}

fn build_capture<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut producer: rtrb::Producer<f32>,
    overruns: &Arc<AtomicU64>,
    failure: &Arc<Mutex<Option<String>>>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let overruns = overruns.clone();
    let failure = failure.clone();
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| {
            // Never blocks: whatever does not fit is counted and dropped.
            let n = data.len().min(producer.slots());
            if let Ok(chunk) = producer.write_chunk_uninit(n) {
                chunk.fill_from_iter(data[..n].iter().map(|s| s.to_sample::<f32>()));
            }
            if n < data.len() {
                overruns.fetch_add((data.len() - n) as u64, Ordering::Relaxed);
            }
        },
        move |e: cpal::Error| on_stream_error(&failure, e),
        None,
    )
}

fn on_stream_error(failure: &Mutex<Option<String>>, e: cpal::Error) {
    // Overruns and underruns are glitches, not failures.
    if matches!(e.kind(), cpal::ErrorKind::Xrun | cpal::ErrorKind::RealtimeDenied) {
        return;
    }
    let mut f = failure.lock().unwrap_or_else(|p| p.into_inner());
    if f.is_none() {
        *f = Some(format!("{e} ({:?})", e.kind()));
    }
}

/// An open playback stream fed with mono samples at `rate_hz`. Dropping it closes the device.
pub struct Playback {
    pub description: String,
    pub rate_hz: u32,
    pub samples: rtrb::Producer<f32>,
    /// Mono samples the device has taken from the ring so far (including flushed ones).
    pub consumed: Arc<AtomicU64>,
    /// Set to make the callback throw away what is buffered (stop).
    pub flush: Arc<AtomicBool>,
    pub failure: Arc<Mutex<Option<String>>>,
    _stream: cpal::Stream,
}

/// Opens the playback device at its default rate and format; `ring_ms` is how much mono audio the
/// ring between the speaker thread and the device holds, milliseconds.
pub fn open_playback(wanted: &str, ring_ms: u32) -> Result<Playback, AudioError> {
    let direction = Direction::Output;
    let device = find_device(direction, wanted)?;
    let fail = open_failure(direction, &device);
    let supported = device.default_output_config().map_err(&fail)?;
    let config = supported.config();
    let rate_hz = config.sample_rate;
    let channels = config.channels;
    let (samples, consumer) = rtrb::RingBuffer::new((rate_hz as usize * ring_ms as usize / 1000).max(256));
    let consumed = Arc::new(AtomicU64::new(0));
    let flush = Arc::new(AtomicBool::new(false));
    let failure = Arc::new(Mutex::new(None));
    let shared = PlaybackShared { consumer, consumed: consumed.clone(), flush: flush.clone(), channels: channels.max(1) as usize };
    let stream = match supported.sample_format() {
        SampleFormat::I8 => build_playback::<i8>(&device, config, shared, &failure),
        SampleFormat::I16 => build_playback::<i16>(&device, config, shared, &failure),
        SampleFormat::I32 => build_playback::<i32>(&device, config, shared, &failure),
        SampleFormat::U8 => build_playback::<u8>(&device, config, shared, &failure),
        SampleFormat::U16 => build_playback::<u16>(&device, config, shared, &failure),
        SampleFormat::U32 => build_playback::<u32>(&device, config, shared, &failure),
        SampleFormat::F32 => build_playback::<f32>(&device, config, shared, &failure),
        SampleFormat::F64 => build_playback::<f64>(&device, config, shared, &failure),
        other => return Err(AudioError::NoDevice { direction, detail: format!("sample format {other} is not supported") }),
    }
    .map_err(&fail)?;
    stream.play().map_err(&fail)?;
    let description = format!("{} ({}), {rate_hz} Hz, {channels} ch, {}", device_name(&device), device_id(&device), supported.sample_format());
    Ok(Playback { description, rate_hz, samples, consumed, flush, failure, _stream: stream })
}

struct PlaybackShared {
    consumer: rtrb::Consumer<f32>,
    consumed: Arc<AtomicU64>,
    flush: Arc<AtomicBool>,
    channels: usize,
}

fn build_playback<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    mut shared: PlaybackShared,
    failure: &Arc<Mutex<Option<String>>>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let failure = failure.clone();
    device.build_output_stream::<T, _, _>(
        config,
        move |out: &mut [T], _: &cpal::OutputCallbackInfo| {
            if shared.flush.swap(false, Ordering::AcqRel) {
                let n = shared.consumer.slots();
                if let Ok(chunk) = shared.consumer.read_chunk(n) {
                    chunk.commit_all();
                }
                shared.consumed.fetch_add(n as u64, Ordering::AcqRel);
            }
            let mut taken = 0u64;
            for frame in out.chunks_mut(shared.channels) {
                let s = match shared.consumer.pop() {
                    Ok(s) => {
                        taken += 1;
                        s
                    }
                    Err(_) => 0.0,
                };
                let v = T::from_sample(s);
                frame.iter_mut().for_each(|o| *o = v);
            }
            shared.consumed.fetch_add(taken, Ordering::AcqRel);
        },
        move |e: cpal::Error| on_stream_error(&failure, e),
        None,
    )
}

/// What a person reads when a direction has no device: what is missing and what to set.
pub fn missing_device_message(direction: Direction, detail: &str) -> String {
    match direction {
        Direction::Input => format!(
            "no microphone: {detail}. Plug in a USB microphone (`hearth doctor` lists the devices it sees, \
             `[audio] input_device` picks one), or set `[audio] input = \"file:/path/to.wav\"`, \"stdin\" or \"none\""
        ),
        Direction::Output => format!(
            "no speaker: {detail}. Plug in a speaker or USB sound card (`hearth doctor` lists the devices it sees, \
             `[audio] output_device` picks one), or set `[audio] output = \"file:/path/to/out.wav\"` or \"none\""
        ),
    }
}

/// alsa-lib prints its own complaints to stderr on every failed open (`cannot find card '0'`); with
/// the retry loop that would fill the log every few seconds. Created in a thread, this routes them
/// into a buffer of that thread instead, for [`AlsaErrors::take`] to log at debug level.
pub struct AlsaErrors {
    #[cfg(target_os = "linux")]
    buffer: Option<std::rc::Rc<std::cell::RefCell<alsa::Output>>>,
}

impl AlsaErrors {
    pub fn capture() -> Self {
        #[cfg(target_os = "linux")]
        {
            Self { buffer: alsa::Output::local_error_handler().ok() }
        }
        #[cfg(not(target_os = "linux"))]
        {
            Self {}
        }
    }

    /// What alsa-lib said since the last call (empty elsewhere than Linux).
    pub fn take(&mut self) -> String {
        #[cfg(target_os = "linux")]
        {
            let text = self.buffer.as_ref().map(|o| o.borrow().to_string()).unwrap_or_default();
            if !text.is_empty() {
                // A fresh buffer empties the old one.
                self.buffer = alsa::Output::local_error_handler().ok();
            }
            text.trim().to_string()
        }
        #[cfg(not(target_os = "linux"))]
        {
            String::new()
        }
    }
}
