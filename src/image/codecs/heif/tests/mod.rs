//! The HEIF decoder on the fixtures of `testdata/formats/heif/` (made by its
//! `make_fixtures.py` from drawn test cards; README.md there lists them): sizes, upright
//! orientation, colours of flat areas within 3 levels of the colours drawn, frames, alpha, the
//! ICC profile, and refusals with the right kind and a message naming the problem.

use image::{ColorType, DynamicImage, GenericImageView};

use super::{open, Header};

mod damaged;
mod decoding;
mod files;
mod refusals;

/// The colours `make_fixtures.py` draws: its `quad` card's quadrants and `patches` card.
const RED: [u8; 3] = [200, 40, 40];
const GREEN: [u8; 3] = [40, 180, 60];
const BLUE: [u8; 3] = [40, 60, 200];
const YELLOW: [u8; 3] = [230, 210, 50];
const PATCHES: [[u8; 3]; 6] = [
    [200, 30, 30],
    [30, 170, 60],
    [40, 60, 200],
    [128, 128, 128],
    [222, 171, 140],
    [90, 140, 217],
];
const LIMIT: u64 = crate::image::DEFAULT_MAX_INPUT_PIXELS;

pub(super) fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/testdata/formats/heif/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The image through `read`, 16 rows at a time (the pipeline's step), as 8-bit RGBA.
pub(super) fn read_all(bytes: &[u8]) -> (Header, DynamicImage) {
    let (mut d, h) = open(bytes, LIMIT).unwrap_or_else(|e| panic!("open: {e:?}"));
    let row = h.width as usize * d.layout().channel_count() as usize;
    let mut data = vec![0u8; row * h.height as usize];
    for chunk in data.chunks_mut(row * 16) {
        d.read(chunk).unwrap_or_else(|e| panic!("read: {e:?}"));
    }
    let img = match d.layout() {
        ColorType::L8 => {
            DynamicImage::ImageLuma8(image::ImageBuffer::from_raw(h.width, h.height, data).unwrap())
        }
        ColorType::La8 => DynamicImage::ImageLumaA8(
            image::ImageBuffer::from_raw(h.width, h.height, data).unwrap(),
        ),
        ColorType::Rgb8 => {
            DynamicImage::ImageRgb8(image::ImageBuffer::from_raw(h.width, h.height, data).unwrap())
        }
        _ => {
            DynamicImage::ImageRgba8(image::ImageBuffer::from_raw(h.width, h.height, data).unwrap())
        }
    };
    (h, img)
}

/// Reads every row of `bytes` through a 16-row band, keeping none (the pipeline's step).
fn stream(bytes: &[u8]) -> Result<Header, crate::image::ImageError> {
    let (mut d, h) = open(bytes, LIMIT)?;
    let row = h.width as usize * d.layout().channel_count() as usize;
    let mut band = vec![0u8; row * 16];
    let mut left = h.height as usize;
    while left > 0 {
        let n = left.min(16);
        d.read(&mut band[..row * n])?;
        left -= n;
    }
    Ok(h)
}

fn decode_fixture(name: &str) -> (Header, DynamicImage) {
    let bytes = fixture(name);
    let (h, read) = read_all(&bytes);
    let (d, _) = open(&bytes, LIMIT).unwrap();
    let whole = d
        .decode()
        .unwrap_or_else(|e| panic!("{name}: decode: {e:?}"));
    assert_same(
        &format!("{name}: decode and read"),
        &whole.to_rgba8(),
        &read.to_rgba8(),
    );
    assert_eq!((read.width(), read.height()), (h.width, h.height), "{name}");
    (h, read)
}

/// Equal bytes, or a short account of where they differ.
#[track_caller]
fn assert_same(name: &str, got: &[u8], want: &[u8]) {
    let diff: Vec<usize> = (0..got.len().min(want.len()))
        .filter(|&i| got[i] != want[i])
        .collect();
    assert!(
        got.len() == want.len() && diff.is_empty(),
        "{name}: {} of {} bytes differ (lengths {} and {}), first at byte {:?}",
        diff.len(),
        want.len(),
        got.len(),
        want.len(),
        diff.first()
    );
}

#[track_caller]
fn assert_near(name: &str, img: &DynamicImage, (x, y): (u32, u32), want: [u8; 3]) {
    let p = img.get_pixel(x, y).0;
    let off = (0..3).map(|c| p[c].abs_diff(want[c])).max().unwrap_or(0);
    assert!(off <= 3, "{name} at ({x}, {y}): {p:?}, drawn {want:?}");
}

/// The six patches (32 × 32, three by two) at their centres.
#[track_caller]
fn assert_patches(name: &str, img: &DynamicImage) {
    for (i, want) in PATCHES.iter().enumerate() {
        let (x, y) = (16 + 32 * (i as u32 % 3), 16 + 32 * (i as u32 / 3));
        assert_near(name, img, (x, y), *want);
    }
}

/// The quadrant colours at the four corners (top-left, top-right, bottom-left, bottom-right),
/// 4 pixels in.
#[track_caller]
fn assert_corners(name: &str, img: &DynamicImage, want: [[u8; 3]; 4]) {
    let (w, h) = img.dimensions();
    for (at, c) in [(4, 4), (w - 5, 4), (4, h - 5), (w - 5, h - 5)]
        .into_iter()
        .zip(want)
    {
        assert_near(name, img, at, c);
    }
}

/// Where the drawn quadrants show for each EXIF orientation the file was saved with (libheif
/// writes it as `irot`/`imir`): the drawing turned or mirrored as EXIF says.
fn corners_for_exif(o: u8) -> [[u8; 3]; 4] {
    match o {
        1 => [RED, GREEN, BLUE, YELLOW],
        2 => [GREEN, RED, YELLOW, BLUE],
        3 => [YELLOW, BLUE, GREEN, RED],
        4 => [BLUE, YELLOW, RED, GREEN],
        5 => [RED, BLUE, GREEN, YELLOW],
        6 => [BLUE, RED, YELLOW, GREEN],
        7 => [YELLOW, GREEN, BLUE, RED],
        _ => [GREEN, YELLOW, RED, BLUE],
    }
}
/// The pipeline may open a decoder on one thread and read it on another.
#[test]
fn a_decoder_can_move_to_another_thread() {
    for name in ["a_grid.avif", "h_grid.heic"] {
        let bytes = fixture(name);
        let (mut d, h) = open(&bytes, LIMIT).unwrap();
        let row = h.width as usize * d.layout().channel_count() as usize;
        let rows = std::thread::scope(|s| {
            s.spawn(move || {
                let mut data = vec![0u8; row * h.height as usize];
                d.read(&mut data).map(|()| data)
            })
            .join()
            .unwrap()
        });
        assert_eq!(rows.unwrap().len(), row * h.height as usize, "{name}");
    }
}
