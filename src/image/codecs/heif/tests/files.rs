//! Every file of a folder through `read`, as the pipeline reads (16 rows at a time), timed, each
//! written as a PNG that must read back at the header's size. On the fixtures by default; on
//! real files for the reports with `HEIF_FILES=DIR_OR_FILE` (and `HEIF_PNG=DIR` to keep the
//! PNGs for a comparison with a reference decoder): `cargo test --release --lib
//! heif::tests::files -- --nocapture`. `HEIF_STREAM=1` keeps no rows (the memory the decoder
//! itself holds: a 200 MP photo), for `bench/heif.py`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use image::ImageEncoder;

use super::*;

/// The files named by `HEIF_FILES` (a folder or one file), else the decodable fixtures.
fn files() -> Vec<PathBuf> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/formats/heif");
    let root = std::env::var_os("HEIF_FILES").map_or(fixtures, PathBuf::from);
    if root.is_file() {
        return vec![root];
    }
    let heif = |p: &PathBuf| {
        let e = p.extension().map(|e| e.to_string_lossy().to_lowercase());
        matches!(
            e.as_deref(),
            Some("heic" | "heif" | "hif" | "avif" | "avifs")
        )
    };
    let mut all: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(heif)
        .collect();
    all.sort();
    all
}

/// Decodes `bytes` row band by row band into one 8-bit buffer; the time taken.
fn read_timed(
    bytes: &[u8],
) -> Result<(Header, Vec<u8>, image::ExtendedColorType, f64), crate::image::ImageError> {
    let start = Instant::now();
    let (mut d, h) = open(bytes, LIMIT)?;
    let row = h.width as usize * d.layout().channel_count() as usize;
    let mut data = vec![0u8; row * h.height as usize];
    for band in data.chunks_mut(row * 16) {
        d.read(band)?;
    }
    Ok((h, data, d.layout().into(), start.elapsed().as_secs_f64()))
}

/// Decodes `bytes` through a 16-row buffer, keeping nothing; the time taken.
fn stream_timed(bytes: &[u8]) -> Result<(Header, f64), crate::image::ImageError> {
    let start = Instant::now();
    stream(bytes).map(|h| (h, start.elapsed().as_secs_f64()))
}

#[test]
fn each_file_streams_through_a_band_of_rows() {
    if std::env::var_os("HEIF_STREAM").is_none() {
        let (h, _) = stream_timed(&fixture("h_grid_orient6.heic")).unwrap();
        assert_eq!((h.width, h.height), (300, 520));
        return;
    }
    for path in files() {
        let bytes = std::fs::read(&path).unwrap();
        match stream_timed(&bytes) {
            Ok((h, secs)) => println!(
                "{} {}x{} decoded_ms {:.1}",
                path.display(),
                h.width,
                h.height,
                secs * 1e3
            ),
            Err(e) => println!("{} refused {e:?}", path.display()),
        }
    }
}

#[test]
fn each_file_reads_whole_and_its_png_reads_back_at_its_size() {
    let out = std::env::var_os("HEIF_PNG").map(PathBuf::from);
    let tmp = tempfile::tempdir().unwrap();
    let out = out.unwrap_or_else(|| tmp.path().to_path_buf());
    let mut decoded = 0;
    for path in files() {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let bytes = std::fs::read(&path).unwrap();
        let (h, data, color, secs) = match read_timed(&bytes) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{name}: refused: {e:?}");
                continue;
            }
        };
        eprintln!(
            "{name}: {:?} {}x{} (stored {}x{}, {:?}), {}-bit {:?}, alpha {}, frames {}, icc {} B{}, \
             gain map {}, warnings {:?}: {:.3} s",
            h.kind,
            h.width,
            h.height,
            h.stored_width,
            h.stored_height,
            h.transforms,
            h.bit_depth,
            h.colour_model,
            h.alpha,
            h.frames,
            h.icc.as_ref().map_or(0, Vec::len),
            if h.icc_synthesized { " (made from nclx)" } else { "" },
            h.gain_map,
            h.warnings,
            secs
        );
        let png = out.join(format!("{name}.png"));
        let file = std::io::BufWriter::new(std::fs::File::create(&png).unwrap());
        let enc = image::codecs::png::PngEncoder::new_with_quality(
            file,
            image::codecs::png::CompressionType::Fast,
            image::codecs::png::FilterType::Adaptive,
        );
        enc.write_image(&data, h.width, h.height, color).unwrap();
        let back = image::open(&png).unwrap();
        assert_eq!((back.width(), back.height()), (h.width, h.height), "{name}");
        decoded += 1;
    }
    assert!(decoded > 0, "nothing decoded");
}
