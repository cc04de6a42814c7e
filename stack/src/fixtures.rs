//! Generates `testdata/` fixtures: synthetic images with a red mark in the top-left corner and
//! a blue one bottom-right (so orientation and aspect can be checked after resizing), in every
//! format and size band, plus a corrupt file and a non-image.

use std::path::Path;

use image::{DynamicImage, Rgba, RgbaImage};

/// Width, height and whether the image has transparency.
fn pattern(w: u32, h: u32, alpha: bool) -> RgbaImage {
    let mark = (w.min(h) / 6).max(1);
    RgbaImage::from_fn(w, h, |x, y| {
        if x < mark && y < mark {
            return Rgba([220, 20, 20, 255]);
        }
        if x >= w - mark && y >= h - mark {
            return Rgba([20, 20, 220, 255]);
        }
        let r = (x * 200 / w.max(1)) as u8 + 30;
        let g = (y * 200 / h.max(1)) as u8 + 30;
        let b = 160;
        let a = if alpha && x > w / 2 {
            (255 - (y * 200 / h.max(1))) as u8
        } else {
            255
        };
        Rgba([r, g, b, a])
    })
}

fn jpeg(img: &RgbaImage) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .expect("jpeg");
    out
}

fn png(img: &RgbaImage, alpha: bool) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    let dynimg = if alpha {
        DynamicImage::ImageRgba8(img.clone())
    } else {
        DynamicImage::ImageRgb8(DynamicImage::ImageRgba8(img.clone()).to_rgb8())
    };
    dynimg
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

fn webp_lossy(img: &RgbaImage) -> Vec<u8> {
    let rgb = DynamicImage::ImageRgba8(img.clone()).to_rgb8();
    webp::Encoder::from_rgb(rgb.as_raw(), img.width(), img.height())
        .encode(80.0)
        .to_vec()
}

/// Writes every fixture into `dir`.
pub fn generate(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let write = |name: &str, data: Vec<u8>| -> std::io::Result<()> {
        println!("{name}: {} bytes", data.len());
        std::fs::write(dir.join(name), data)
    };
    write("jpeg_small_300x200.jpg", jpeg(&pattern(300, 200, false)))?;
    write(
        "jpeg_thumb_band_800x600.jpg",
        jpeg(&pattern(800, 600, false)),
    )?;
    write(
        "jpeg_medium_band_2000x1200.jpg",
        jpeg(&pattern(2000, 1200, false)),
    )?;
    write(
        "jpeg_large_band_3000x2000.jpg",
        jpeg(&pattern(3000, 2000, false)),
    )?;
    write(
        "jpeg_portrait_1500x2600.jpg",
        jpeg(&pattern(1500, 2600, false)),
    )?;
    write("jpeg_6000x4000.jpg", jpeg(&pattern(6000, 4000, false)))?;
    write(
        "png_square_1300x1300.png",
        png(&pattern(1300, 1300, false), false),
    )?;
    write(
        "png_alpha_landscape_1000x600.png",
        png(&pattern(1000, 600, true), true),
    )?;
    write(
        "webp_lossy_2600x1400.webp",
        webp_lossy(&pattern(2600, 1400, false)),
    )?;
    // A JPEG start and a JFIF header, then noise: it claims to be a JPEG but has no frame.
    let mut corrupt = jpeg(&pattern(64, 64, false));
    corrupt.truncate(20);
    corrupt.extend((0..2000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    write("corrupt.jpg", corrupt)?;
    write(
        "not_an_image.txt",
        b"This is a text file, not a photo.\n".to_vec(),
    )?;
    Ok(())
}
