//! Pictures in and out: bytes from a camera, a URL, a file or the bus are checked and decoded here, once, with
//! limits, so a truncated JPEG, an empty file, a huge PNG or a web page never reaches llama.cpp or crashes a service.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits, RgbImage};
use thiserror::Error;

/// Most pixels along either side of a picture accepted for decoding.
pub const MAX_SIDE_PX: u32 = 8192;
/// Most memory a decoder may allocate, bytes.
const MAX_DECODE_ALLOC: u64 = 256 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum PictureError {
    #[error("the image is empty (0 bytes)")]
    Empty,
    #[error("the image is too large: {:.1} MB, at most {:.1} MB", *.bytes as f64 / 1e6, *.max_bytes as f64 / 1e6)]
    TooLarge { bytes: u64, max_bytes: u64 },
    #[error("not an image (the data is neither JPEG nor PNG)")]
    NotAnImage,
    #[error("the image is {width}×{height} pixels, at most {MAX_SIDE_PX} on a side")]
    TooManyPixels { width: u32, height: u32 },
    #[error("the image is damaged: {0}")]
    Damaged(String),
    #[error("cannot encode the picture as JPEG: {0}")]
    Encode(String),
}

/// Decodes JPEG or PNG bytes to RGB, refusing empty, oversized, unknown and damaged data.
pub fn decode(bytes: &[u8], max_bytes: u64) -> Result<RgbImage, PictureError> {
    if bytes.is_empty() {
        return Err(PictureError::Empty);
    }
    if bytes.len() as u64 > max_bytes {
        return Err(PictureError::TooLarge { bytes: bytes.len() as u64, max_bytes });
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(PictureError::NotAnImage),
    };
    // The JPEG decoder fills a cut-off picture with grey rather than failing: refuse it here.
    if format == ImageFormat::Jpeg && !ends_with_jpeg_eoi(bytes) {
        return Err(PictureError::Damaged("it is cut off (no end-of-image marker)".into()));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE_PX);
    limits.max_image_height = Some(MAX_SIDE_PX);
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let decoded = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => match dimensions(bytes, format) {
            Some((width, height)) => PictureError::TooManyPixels { width, height },
            None => PictureError::Damaged(e.to_string()),
        },
        other => PictureError::Damaged(other.to_string()),
    })?;
    if decoded.width() == 0 || decoded.height() == 0 {
        return Err(PictureError::Damaged("it has no pixels".into()));
    }
    Ok(decoded.into_rgb8())
}

/// Whether JPEG data ends with its end-of-image marker (FF D9), ignoring the zero padding some cameras append.
fn ends_with_jpeg_eoi(bytes: &[u8]) -> bool {
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    bytes[..end].ends_with(&[0xFF, 0xD9])
}

fn dimensions(bytes: &[u8], format: ImageFormat) -> Option<(u32, u32)> {
    ImageReader::with_format(Cursor::new(bytes), format).into_dimensions().ok()
}

/// Scales a picture down (never up) so that its longer side is at most `max_edge_px`.
pub fn fit(image: RgbImage, max_edge_px: u32) -> RgbImage {
    let longest = image.width().max(image.height());
    if longest <= max_edge_px || max_edge_px == 0 {
        return image;
    }
    let scale = max_edge_px as f64 / longest as f64;
    let width = ((image.width() as f64 * scale).round() as u32).max(1);
    let height = ((image.height() as f64 * scale).round() as u32).max(1);
    image::imageops::resize(&image, width, height, image::imageops::FilterType::Triangle)
}

/// JPEG bytes of a picture, `quality` 1–100.
pub fn to_jpeg(image: &RgbImage, quality: u8) -> Result<Vec<u8>, PictureError> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
    DynamicImage::ImageRgb8(image.clone()).write_with_encoder(encoder).map_err(|e| PictureError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 8 * 1024 * 1024;

    fn gradient(width: u32, height: u32) -> RgbImage {
        RgbImage::from_fn(width, height, |x, y| image::Rgb([(x * 255 / width) as u8, (y * 255 / height) as u8, 128]))
    }

    #[test]
    fn good_jpeg_and_png_decode() {
        let jpeg = to_jpeg(&gradient(64, 48), 85).unwrap();
        let decoded = decode(&jpeg, MAX).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (64, 48));
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(gradient(10, 7)).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        assert_eq!(decode(&png, MAX).unwrap().dimensions(), (10, 7));
    }

    #[test]
    fn bad_images_give_clear_errors() {
        assert!(matches!(decode(&[], MAX), Err(PictureError::Empty)));
        let jpeg = to_jpeg(&gradient(320, 240), 90).unwrap();
        let truncated = &jpeg[..jpeg.len() / 2];
        let err = decode(truncated, MAX).unwrap_err();
        assert!(matches!(err, PictureError::Damaged(_)), "{err}");
        let html = b"<!DOCTYPE html><html><body>Not found</body></html>";
        assert!(matches!(decode(html, MAX), Err(PictureError::NotAnImage)));
        let err = decode(b"\xFF\xD8\xFF\xE0 almost a jpeg", MAX).unwrap_err();
        assert!(matches!(err, PictureError::Damaged(_)), "{err}");
        // Zero padding after the end marker (some MJPEG cameras) is fine; garbage inside is not.
        let mut padded = jpeg.clone();
        padded.extend_from_slice(&[0; 16]);
        assert!(decode(&padded, MAX).is_ok());
        let mut corrupt = jpeg.clone();
        let mid = corrupt.len() / 2;
        corrupt[mid..mid + 64].fill(0xFF);
        if let Ok(image) = decode(&corrupt, MAX) {
            assert_eq!(image.dimensions(), (320, 240), "a corrupt body may decode, but never to a wrong size");
        }
    }

    #[test]
    fn a_20_mb_png_is_refused_before_decoding() {
        // Noise does not compress: about 20 MB of PNG.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let noise = RgbImage::from_fn(2600, 2600, |_, _| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image::Rgb([state as u8, (state >> 8) as u8, (state >> 16) as u8])
        });
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(noise).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        assert!(png.len() > 19_000_000, "{} bytes", png.len());
        let err = decode(&png, MAX).unwrap_err();
        assert!(matches!(err, PictureError::TooLarge { .. }), "{err}");
        assert!(err.to_string().contains("too large"), "{err}");
        // With a limit that lets the bytes through, the pixel limit still holds for absurd sizes.
        let err = decode(&png, u64::MAX).map(|i| i.dimensions());
        assert_eq!(err.unwrap(), (2600, 2600), "a big but sane picture decodes when allowed");
    }

    #[test]
    fn pixel_limits_hold_for_small_files_with_huge_headers() {
        // A PNG header claiming 100000×100000 pixels: tiny file, absurd picture.
        let mut png = Vec::new();
        DynamicImage::ImageRgb8(gradient(2, 2)).write_to(&mut Cursor::new(&mut png), ImageFormat::Png).unwrap();
        png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let err = decode(&png, MAX).unwrap_err();
        assert!(matches!(err, PictureError::TooManyPixels { .. } | PictureError::Damaged(_)), "{err}");
    }

    #[test]
    fn fit_only_shrinks() {
        assert_eq!(fit(gradient(1920, 1080), 1280).dimensions(), (1280, 720));
        assert_eq!(fit(gradient(640, 480), 1280).dimensions(), (640, 480));
    }
}
