//! Generates `testdata/` fixtures: synthetic images with a red mark in the top-left corner and
//! a blue one bottom-right (so orientation and aspect can be checked after resizing), in every
//! format and size band, plus a corrupt file and a non-image; and the containers the world
//! sends (`containers`: floods, private chunks, damaged but complete files).

use std::path::Path;

use image::{DynamicImage, Rgba, RgbaImage};

mod containers;

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
    containers::generate(&dir.join("containers"))
}

/// The displayed picture of the orientation and metadata fixtures: red top-left, green
/// top-right, blue bottom-right, so every flip and rotation is told apart.
pub fn marked(w: u32, h: u32) -> RgbaImage {
    let mark = (w.min(h) / 5).max(1);
    RgbaImage::from_fn(w, h, |x, y| {
        match (x < mark, x >= w - mark, y < mark, y >= h - mark) {
            (true, _, true, _) => Rgba([230, 20, 20, 255]),
            (_, true, true, _) => Rgba([20, 200, 20, 255]),
            (_, true, _, true) => Rgba([20, 20, 230, 255]),
            _ => Rgba([200, 200, 200, 255]),
        }
    })
}

/// A big-endian TIFF block: Orientation, and a Make string standing for camera metadata.
fn exif(orientation: u16, make: &str) -> Vec<u8> {
    let mut make = make.as_bytes().to_vec();
    make.push(0);
    let mut v = b"MM\0*".to_vec();
    v.extend_from_slice(&8u32.to_be_bytes());
    v.extend_from_slice(&2u16.to_be_bytes());
    // Make (0x010F), ASCII, its text after the IFD.
    let text_at = 8 + 2 + 2 * 12 + 4;
    v.extend_from_slice(&0x010Fu16.to_be_bytes());
    v.extend_from_slice(&2u16.to_be_bytes());
    v.extend_from_slice(&(make.len() as u32).to_be_bytes());
    v.extend_from_slice(&(text_at as u32).to_be_bytes());
    v.extend_from_slice(&0x0112u16.to_be_bytes());
    v.extend_from_slice(&3u16.to_be_bytes());
    v.extend_from_slice(&1u32.to_be_bytes());
    v.extend_from_slice(&orientation.to_be_bytes());
    v.extend_from_slice(&[0, 0]);
    v.extend_from_slice(&0u32.to_be_bytes());
    v.extend_from_slice(&make);
    v
}

/// Text every fixture with metadata carries; no public variant may contain it.
pub const PRIVATE_MARKER: &str = "SecretCam GPS 48.8584N 2.2945E";

/// Adds camera EXIF (orientation + make), an XMP packet and a comment to a JPEG.
fn with_jpeg_metadata(jpeg: Vec<u8>, orientation: u16) -> Vec<u8> {
    use img_parts::{jpeg::Jpeg, jpeg::JpegSegment, Bytes, ImageEXIF};
    let mut j = Jpeg::from_bytes(Bytes::from(jpeg)).expect("jpeg");
    j.set_exif(Some(Bytes::from(exif(orientation, PRIVATE_MARKER))));
    let mut xmp = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    xmp.extend_from_slice(
        format!("<x:xmpmeta><rdf:Description exif:GPS=\"{PRIVATE_MARKER}\"/></x:xmpmeta>")
            .as_bytes(),
    );
    j.segments_mut()
        .insert(1, JpegSegment::new_with_contents(0xE1, Bytes::from(xmp)));
    j.segments_mut().insert(
        1,
        JpegSegment::new_with_contents(0xFE, Bytes::from(PRIVATE_MARKER.as_bytes().to_vec())),
    );
    j.encoder().bytes().to_vec()
}

fn rgb_jpeg(img: &image::RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("jpeg");
    out
}

/// What an EXIF orientation does to the stored pixels to display them, undone.
fn store_for(displayed: &RgbaImage, orientation: u8) -> DynamicImage {
    let inverse = match orientation {
        6 => 8,
        8 => 6,
        o => o,
    };
    let mut img = DynamicImage::ImageRgba8(displayed.clone());
    img.apply_orientation(image::metadata::Orientation::from_exif(inverse).expect("1-8"));
    img
}

fn icc_p3() -> Vec<u8> {
    moxcms::ColorProfile::new_display_p3()
        .encode()
        .expect("P3 profile")
}

fn png_bytes(img: &DynamicImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

/// The fixtures of image correctness: orientation, colour, pixel formats, animation, a bomb.
pub fn generate_correctness(dir: &Path) -> std::io::Result<()> {
    use img_parts::{Bytes, ImageEXIF, ImageICC};
    std::fs::create_dir_all(dir)?;
    let write = |name: &str, data: Vec<u8>| -> std::io::Result<()> {
        println!("{name}: {} bytes", data.len());
        std::fs::write(dir.join(name), data)
    };
    let shown = marked(600, 400);
    for o in 1..=8u8 {
        let stored = store_for(&shown, o).to_rgb8();
        write(
            &format!("orient_{o}.jpg"),
            with_jpeg_metadata(rgb_jpeg(&stored, 90), u16::from(o)),
        )?;
    }
    // A phone-sized case: medium and thumb both come from the resized, then turned, large.
    let big_shown = marked(1300, 900);
    for o in [6u8, 7] {
        let stored = store_for(&big_shown, o).to_rgb8();
        write(
            &format!("orient_{o}_1300x900.jpg"),
            with_jpeg_metadata(rgb_jpeg(&stored, 85), u16::from(o)),
        )?;
    }
    // PNG and WebP with an EXIF orientation too.
    let stored = store_for(&shown, 6);
    let mut png = img_parts::png::Png::from_bytes(Bytes::from(png_bytes(&stored))).expect("png");
    png.set_exif(Some(Bytes::from(exif(6, PRIVATE_MARKER))));
    write("orient_6.png", png.encoder().bytes().to_vec())?;
    let rgb = stored.to_rgb8();
    let lossy = webp::Encoder::from_rgb(rgb.as_raw(), rgb.width(), rgb.height())
        .encode(90.0)
        .to_vec();
    let mut w = img_parts::webp::WebP::from_bytes(Bytes::from(lossy)).expect("webp");
    w.set_exif(Some(Bytes::from(exif(6, PRIVATE_MARKER))));
    write("orient_6.webp", w.encoder().bytes().to_vec())?;

    // Display P3: the same numbers mean more saturated colours; the profile must travel.
    let patches = RgbaImage::from_fn(800, 500, |x, _| {
        if x < 400 {
            Rgba([250, 30, 40, 255])
        } else {
            Rgba([40, 220, 60, 255])
        }
    });
    let mut j = img_parts::jpeg::Jpeg::from_bytes(Bytes::from(rgb_jpeg(
        &DynamicImage::ImageRgba8(patches.clone()).to_rgb8(),
        92,
    )))
    .expect("jpeg");
    j.set_icc_profile(Some(Bytes::from(icc_p3())));
    write("p3_800x500.jpg", j.encoder().bytes().to_vec())?;
    let mut p =
        img_parts::png::Png::from_bytes(Bytes::from(png_bytes(&DynamicImage::ImageRgba8(patches))))
            .expect("png");
    p.set_icc_profile(Some(Bytes::from(icc_p3())));
    write("p3_800x500.png", p.encoder().bytes().to_vec())?;

    // CMYK: left half pure red (C0 M100 Y100 K0), right half pure blue (C100 M100 Y0 K0).
    let cmyk: Vec<u8> = (0..400u32 * 600)
        .flat_map(|i| {
            if i % 600 < 300 {
                [0u8, 255, 255, 0]
            } else {
                [255, 255, 0, 0]
            }
        })
        .collect();
    let mut adobe = Vec::new();
    jpeg_encoder::Encoder::new(&mut adobe, 92)
        .encode(&cmyk, 600, 400, jpeg_encoder::ColorType::Cmyk)
        .expect("cmyk");
    write("cmyk_adobe_inverted_600x400.jpg", adobe)?;
    let inverted: Vec<u8> = cmyk.iter().map(|v| 255 - v).collect();
    let mut plain = Vec::new();
    jpeg_encoder::Encoder::new(&mut plain, 92)
        .encode(&inverted, 600, 400, jpeg_encoder::ColorType::Cmyk)
        .expect("cmyk");
    let mut plain = img_parts::jpeg::Jpeg::from_bytes(Bytes::from(plain)).expect("jpeg");
    plain.remove_segments_by_marker(0xEE);
    write("cmyk_plain_600x400.jpg", plain.encoder().bytes().to_vec())?;

    // Pixel formats.
    let gray = DynamicImage::ImageRgba8(pattern(900, 600, false)).to_luma8();
    let mut gj = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut gj, 90)
        .encode_image(&gray)
        .expect("gray jpeg");
    write("gray_900x600.jpg", gj)?;
    write(
        "gray_900x600.png",
        png_bytes(&DynamicImage::ImageLuma8(gray)),
    )?;
    let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(900, 600, |x, y| {
        image::Rgb([(x * 72) as u16, (y * 109) as u16, 40000])
    });
    write(
        "png16_900x600.png",
        png_bytes(&DynamicImage::ImageRgb16(deep)),
    )?;
    write("palette_900x600.png", palette_png(900, 600))?;
    // Adam7: odd sizes so every pass has a ragged edge.
    write("interlaced_901x601.png", interlaced_png(&marked(901, 601)))?;
    let alpha = pattern(900, 600, true);
    write(
        "webp_lossless_alpha_900x600.webp",
        webp::Encoder::from_rgba(alpha.as_raw(), 900, 600)
            .encode_lossless()
            .to_vec(),
    )?;
    write(
        "webp_lossy_alpha_900x600.webp",
        webp::Encoder::from_rgba(alpha.as_raw(), 900, 600)
            .encode(80.0)
            .to_vec(),
    )?;
    write("webp_animated_900x600.webp", animated_webp(900, 600))?;
    write("bomb_50000x50000.png", bomb_png(50_000, 50_000))?;
    Ok(())
}

/// An indexed-colour PNG (16-entry palette).
fn palette_png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        let palette: Vec<u8> = (0..16u8)
            .flat_map(|i| [i * 16, 255 - i * 16, 128])
            .collect();
        enc.set_palette(palette);
        let mut writer = enc.write_header().expect("png header");
        let data: Vec<u8> = (0..w * h).map(|i| ((i % w) * 16 / w) as u8).collect();
        writer.write_image_data(&data).expect("png data");
    }
    out
}

/// An Adam7-interlaced RGBA PNG (the `png` crate cannot write Adam7).
/// The corner marks are opaque; thin diagonal bands are half transparent.
fn interlaced_png(img: &RgbaImage) -> Vec<u8> {
    const PASSES: [(u32, u32, u32, u32); 7] = [
        (0, 0, 8, 8),
        (4, 0, 8, 8),
        (0, 4, 4, 8),
        (2, 0, 4, 4),
        (0, 2, 2, 4),
        (1, 0, 2, 2),
        (0, 1, 1, 2),
    ];
    let (w, h) = img.dimensions();
    let pixel = |x: u32, y: u32| {
        let mut p = img.get_pixel(x, y).0;
        if (x + y) % 200 >= 180 {
            p[3] = 128;
        }
        p
    };
    let mut raw = Vec::new();
    for (x0, y0, dx, dy) in PASSES {
        if x0 >= w || y0 >= h {
            continue;
        }
        for y in (y0..h).step_by(dy as usize) {
            raw.push(0); // filter: none
            for x in (x0..w).step_by(dx as usize) {
                raw.extend_from_slice(&pixel(x, y));
            }
        }
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 6, 0, 0, 1]); // 8-bit RGBA, Adam7
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(
        &mut out,
        b"IDAT",
        &miniz_oxide::deflate::compress_to_vec_zlib(&raw, 6),
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// Two frames: red, then blue. Variants show the first.
fn animated_webp(w: u32, h: u32) -> Vec<u8> {
    let red: Vec<u8> = std::iter::repeat_n([220u8, 30, 30, 255], (w * h) as usize)
        .flatten()
        .collect();
    let blue: Vec<u8> = std::iter::repeat_n([30u8, 30, 220, 255], (w * h) as usize)
        .flatten()
        .collect();
    let mut config = webp::WebPConfig::new().expect("config");
    config.lossless = 1;
    let mut enc = webp::AnimEncoder::new(w, h, &config);
    enc.add_frame(webp::AnimFrame::from_rgba(&red, w, h, 0));
    enc.add_frame(webp::AnimFrame::from_rgba(&blue, w, h, 500));
    enc.encode().to_vec()
}

/// A tiny PNG whose header declares `w`×`h` pixels: a decompression bomb's calling card.
fn bomb_png(w: u32, h: u32) -> Vec<u8> {
    let chunk = png_chunk;
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    // A zlib stream of a few zero bytes: nowhere near the declared size.
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
