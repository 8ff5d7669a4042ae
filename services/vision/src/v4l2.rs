//! One frame from a V4L2 camera: open, pick a format the camera offers, let exposure settle, take the frame,
//! close. Untested against a real camera (the build machines have none); the pixel conversions are tested.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant};

use image::RgbImage;
use v4l::buffer::Type;
use v4l::io::traits::CaptureStream;
use v4l::prelude::*;
use v4l::video::Capture;
use v4l::FourCC;

use crate::camera::CameraError;
use crate::picture;

/// Formats this module can turn into RGB, most preferred first: MJPEG frames are small and decode with the
/// same checked JPEG decoder as everything else; YUYV is what nearly every UVC webcam offers.
const PREFERRED: [&[u8; 4]; 3] = [b"MJPG", b"YUYV", b"RGB3"];

/// Takes one frame after `settle_frames` thrown-away frames. The device is closed when this returns.
pub fn capture(path: &Path, width: u32, height: u32, settle_frames: u32, timeout: Duration, max_bytes: u64) -> Result<RgbImage, CameraError> {
    let start = Instant::now();
    let device = Device::with_path(path).map_err(|e| open_error(path, e))?;
    let offered = device.enum_formats().map_err(|e| CameraError::Unavailable(format!("{}: cannot list formats: {e}", path.display())))?;
    let fourcc = PREFERRED
        .iter()
        .map(|code| FourCC::new(code))
        .find(|want| offered.iter().any(|d| d.fourcc == *want))
        .ok_or_else(|| {
            let names: Vec<String> = offered.iter().map(|d| d.fourcc.to_string()).collect();
            CameraError::Unavailable(format!("{} offers no format Hearth can read ({})", path.display(), names.join(", ")))
        })?;
    let mut format = device.format().map_err(|e| open_error(path, e))?;
    format.width = width;
    format.height = height;
    format.fourcc = fourcc;
    // The driver answers with the nearest size it supports.
    let format = device.set_format(&format).map_err(|e| open_error(path, e))?;
    let mut stream = MmapStream::with_buffers(&device, Type::VideoCapture, 4).map_err(|e| open_error(path, e))?;
    stream.set_timeout(timeout);
    for _ in 0..settle_frames {
        stream.next().map_err(|e| read_error(path, e))?;
        if start.elapsed() > timeout {
            return Err(CameraError::Timeout(timeout.as_millis() as u64));
        }
    }
    let (buffer, meta) = stream.next().map_err(|e| read_error(path, e))?;
    let used = (meta.bytesused as usize).min(buffer.len());
    let data = &buffer[..if used == 0 { buffer.len() } else { used }];
    to_rgb(&format.fourcc.repr, data, format.width, format.height, format.stride, max_bytes)
}

/// Converts one frame of a supported format to RGB.
pub fn to_rgb(fourcc: &[u8; 4], data: &[u8], width: u32, height: u32, stride: u32, max_bytes: u64) -> Result<RgbImage, CameraError> {
    match fourcc {
        b"MJPG" => Ok(picture::decode(data, max_bytes)?),
        b"YUYV" => yuyv_to_rgb(data, width, height, stride.max(width * 2)),
        b"RGB3" => {
            let stride = stride.max(width * 3) as usize;
            let mut rgb = Vec::with_capacity((width * height * 3) as usize);
            for row in 0..height as usize {
                let line = data.get(row * stride..row * stride + width as usize * 3).ok_or_else(short_frame)?;
                rgb.extend_from_slice(line);
            }
            RgbImage::from_raw(width, height, rgb).ok_or_else(short_frame)
        }
        other => Err(CameraError::Failed(format!("unsupported pixel format {}", String::from_utf8_lossy(other)))),
    }
}

/// YUYV 4:2:2 (two pixels share U and V) to RGB with the BT.601 limited-range coefficients webcams use.
fn yuyv_to_rgb(data: &[u8], width: u32, height: u32, stride: u32) -> Result<RgbImage, CameraError> {
    let mut rgb = Vec::with_capacity((width * height * 3) as usize);
    for row in 0..height as usize {
        let start = row * stride as usize;
        let line = data.get(start..start + width as usize * 2).ok_or_else(short_frame)?;
        for quad in line.chunks_exact(4) {
            let (y0, u, y1, v) = (quad[0], quad[1], quad[2], quad[3]);
            push_yuv(&mut rgb, y0, u, v);
            push_yuv(&mut rgb, y1, u, v);
        }
    }
    RgbImage::from_raw(width, height, rgb).ok_or_else(short_frame)
}

fn push_yuv(out: &mut Vec<u8>, y: u8, u: u8, v: u8) {
    let c = (y as f32 - 16.0) * 1.164;
    let d = u as f32 - 128.0;
    let e = v as f32 - 128.0;
    out.push((c + 1.596 * e).clamp(0.0, 255.0) as u8);
    out.push((c - 0.392 * d - 0.813 * e).clamp(0.0, 255.0) as u8);
    out.push((c + 2.017 * d).clamp(0.0, 255.0) as u8);
}

fn short_frame() -> CameraError {
    CameraError::Failed("the camera delivered a short frame".into())
}

/// Linux's "device or resource busy".
const EBUSY: i32 = 16;

fn open_error(path: &Path, e: io::Error) -> CameraError {
    match e.raw_os_error() {
        Some(EBUSY) => CameraError::Busy(format!("{} is in use by another program", path.display())),
        _ if e.kind() == io::ErrorKind::NotFound => CameraError::Unavailable(format!("{} does not exist", path.display())),
        _ if e.kind() == io::ErrorKind::PermissionDenied => {
            CameraError::Unavailable(format!("no permission to open {} (add the user to the `video` group)", path.display()))
        }
        _ => CameraError::Unavailable(format!("{}: {e}", path.display())),
    }
}

fn read_error(path: &Path, e: io::Error) -> CameraError {
    if e.kind() == io::ErrorKind::TimedOut || e.kind() == io::ErrorKind::WouldBlock {
        CameraError::Timeout(0)
    } else {
        CameraError::Failed(format!("{}: {e}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuyv_grey_and_colour() {
        // Two pixels, mid grey: Y=126, U=V=128.
        let rgb = to_rgb(b"YUYV", &[126, 128, 126, 128], 2, 1, 4, 1 << 20).unwrap();
        let p = rgb.get_pixel(0, 0).0;
        assert!(p.iter().all(|c| (c.abs_diff(128)) <= 2), "{p:?}");
        // Saturated red in BT.601: Y=81, U=90, V=240.
        let rgb = to_rgb(b"YUYV", &[81, 90, 81, 240], 2, 1, 4, 1 << 20).unwrap();
        let p = rgb.get_pixel(1, 0).0;
        assert!(p[0] > 240 && p[1] < 20 && p[2] < 20, "{p:?}");
    }

    #[test]
    fn short_frames_and_strides() {
        assert!(matches!(to_rgb(b"YUYV", &[1, 2, 3], 2, 1, 4, 1 << 20), Err(CameraError::Failed(_))));
        // RGB3 with 2 bytes of row padding.
        let data = [1, 2, 3, 4, 5, 6, 0, 0, 7, 8, 9, 10, 11, 12, 0, 0];
        let rgb = to_rgb(b"RGB3", &data, 2, 2, 8, 1 << 20).unwrap();
        assert_eq!(rgb.get_pixel(1, 1).0, [10, 11, 12]);
        assert!(matches!(to_rgb(b"MJPG", &[0xFF, 0xD8, 0xFF, 0x00], 2, 2, 0, 1 << 20), Err(CameraError::BadPicture(_))));
        assert!(to_rgb(b"XXXX", &[], 1, 1, 0, 1 << 20).is_err());
    }

    #[test]
    fn a_missing_device_is_unavailable() {
        let err = capture(Path::new("/dev/hearth-no-such-camera"), 640, 480, 0, Duration::from_secs(1), 1 << 20).unwrap_err();
        assert!(matches!(err, CameraError::Unavailable(_)), "{err}");
    }
}
