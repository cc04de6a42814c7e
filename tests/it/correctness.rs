//! Image correctness, one test per fixture kind: orientation, colour profiles, CMYK, pixel
//! formats, alpha, animation, limits — and no private metadata in any public variant. Each runs
//! the real binary's `variants` command and decodes what it wrote.

use crate::common::*;
use image::{DynamicImage, ImageDecoder};
use img_parts::{Bytes, ImageEXIF};

const PRIVATE: &str = "SecretCam";

/// Decodes with EXIF orientation applied, as a browser displays it.
fn displayed(data: &[u8]) -> DynamicImage {
    let mut decoder = image::ImageReader::new(std::io::Cursor::new(data))
        .with_guessed_format()
        .unwrap()
        .into_decoder()
        .unwrap();
    let orientation = decoder.orientation().unwrap();
    let mut img = DynamicImage::from_decoder(decoder).unwrap();
    img.apply_orientation(orientation);
    img
}

/// Checks the red/green/blue corner marks of `fixtures::marked` on the displayed picture.
#[track_caller]
fn assert_upright(what: &str, img: &DynamicImage) {
    let rgb = img.to_rgb8();
    let (w, h) = rgb.dimensions();
    assert!(w > h, "{what}: {w}x{h} is not landscape");
    near(
        &format!("{what} top-left"),
        rgb.get_pixel(3, 3).0,
        [230, 20, 20],
        40,
    );
    near(
        &format!("{what} top-right"),
        rgb.get_pixel(w - 4, 3).0,
        [20, 200, 20],
        40,
    );
    near(
        &format!("{what} bottom-right"),
        rgb.get_pixel(w - 4, h - 4).0,
        [20, 20, 230],
        40,
    );
}

/// No EXIF/XMP/comment/text in a resized variant; in `original` at most an EXIF holding the
/// orientation alone. Returns the orientation left in the original (1 if none).
#[track_caller]
fn assert_no_metadata(out: &Out) -> u8 {
    let what = &out.name;
    assert!(
        !out.data
            .windows(PRIVATE.len())
            .any(|w| w == PRIVATE.as_bytes()),
        "{what}: private text left in the file"
    );
    let bytes = Bytes::from(out.data.clone());
    let exif = match image::guess_format(&out.data).unwrap() {
        image::ImageFormat::Jpeg => {
            let j = img_parts::jpeg::Jpeg::from_bytes(bytes).unwrap();
            for s in j.segments() {
                let m = s.marker();
                let allowed = m == 0xE0
                    || m == 0xEE
                    || (m == 0xE2 && s.contents().starts_with(b"ICC_PROFILE\0"))
                    || (m == 0xE1 && s.contents().starts_with(b"Exif\0\0"));
                assert!(
                    !(0xE0..=0xEF).contains(&m) || allowed,
                    "{what}: APP{} segment kept",
                    m - 0xE0
                );
                assert_ne!(m, 0xFE, "{what}: comment kept");
            }
            j.exif()
        }
        image::ImageFormat::Png => {
            let p = img_parts::png::Png::from_bytes(bytes).unwrap();
            for c in p.chunks() {
                assert!(
                    !matches!(&c.kind(), b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"),
                    "{what}: text chunk kept"
                );
            }
            p.exif()
        }
        image::ImageFormat::WebP => {
            let w = img_parts::webp::WebP::from_bytes(bytes).unwrap();
            assert!(!w.has_chunk(*b"XMP "), "{what}: XMP kept");
            w.exif()
        }
        f => panic!("{what}: unexpected format {f:?}"),
    };
    match exif {
        None => 1,
        Some(exif) => {
            assert_eq!(out.name, "original", "EXIF in a resized variant");
            assert!(
                exif.len() <= 32,
                "{what}: EXIF of {} bytes is more than the orientation",
                exif.len()
            );
            image::metadata::Orientation::from_exif_chunk(&exif)
                .map(|o| o.to_exif())
                .unwrap_or(1)
        }
    }
}

#[test]
fn exif_orientations_1_to_8_come_out_upright_and_private() {
    for o in 1..=8 {
        let (outs, summary) = variants(&format!("correctness/orient_{o}.jpg"));
        assert_eq!(
            (summary["width"].as_u64(), summary["height"].as_u64()),
            (Some(600), Some(400)),
            "orientation {o}: upright size"
        );
        let thumb = by_name(&outs, "thumb");
        assert_eq!((thumb.width, thumb.height), (400, 267), "orientation {o}");
        assert_upright(
            &format!("orientation {o} thumb"),
            &image::load_from_memory(&thumb.data).unwrap(),
        );
        assert_eq!(assert_no_metadata(thumb), 1);
        let original = by_name(&outs, "original");
        assert_eq!((original.width, original.height), (600, 400));
        let kept = assert_no_metadata(original);
        assert_eq!(
            kept, o,
            "orientation {o} kept in the original so it still displays upright"
        );
        assert_upright(
            &format!("orientation {o} original"),
            &displayed(&original.data),
        );
    }
}

#[test]
fn rotated_photos_are_resized_then_turned_for_every_variant() {
    for o in [6, 7] {
        let (outs, summary) = variants(&format!("correctness/orient_{o}_1300x900.jpg"));
        assert_eq!(
            (summary["width"].as_u64(), summary["height"].as_u64()),
            (Some(1300), Some(900)),
            "orientation {o}: upright size"
        );
        for (name, size) in [("thumb", (400, 277)), ("medium", (1200, 831))] {
            let v = by_name(&outs, name);
            let img = image::load_from_memory(&v.data).unwrap();
            assert_eq!((img.width(), img.height()), size, "orientation {o} {name}");
            assert_upright(&format!("orientation {o} {name}"), &img);
        }
    }
}

#[test]
fn png_and_webp_exif_orientation_applied() {
    for f in ["correctness/orient_6.png", "correctness/orient_6.webp"] {
        let (outs, _) = variants(f);
        let thumb = by_name(&outs, "thumb");
        assert_eq!((thumb.width, thumb.height), (400, 267), "{f}");
        assert_upright(f, &image::load_from_memory(&thumb.data).unwrap());
        assert_no_metadata(thumb);
        let original = by_name(&outs, "original");
        assert_eq!(assert_no_metadata(original), 6, "{f}");
        assert_upright(&format!("{f} original"), &displayed(&original.data));
    }
}

#[test]
fn display_p3_profile_travels_with_the_pixels() {
    for f in ["correctness/p3_800x500.jpg", "correctness/p3_800x500.png"] {
        let source_icc = icc(&fixture(f)).expect("fixture has a profile");
        let (outs, _) = variants(f);
        for out in &outs {
            assert_eq!(
                icc(&out.data).as_deref(),
                Some(&source_icc[..]),
                "{f} {}: profile",
                out.name
            );
            let rgb = image::load_from_memory(&out.data).unwrap().to_rgb8();
            near(
                &format!("{f} {} left patch", out.name),
                rgb.get_pixel(10, 10).0,
                [250, 30, 40],
                8,
            );
            near(
                &format!("{f} {} right patch", out.name),
                rgb.get_pixel(rgb.width() - 10, 10).0,
                [40, 220, 60],
                8,
            );
        }
    }
}

/// An Adobe (inverted) CMYK JPEG without a profile comes out in the colours of its inks; one
/// without the APP14 marker is read the browsers' way, as inverted too (PRODUCT.md "Colour"),
/// so a plain file's red and blue inks (C0 M255 Y255 K0, C255 M255 Y0 K0, stored as they are)
/// show black, as Chrome and Firefox show that file's `original`.
#[test]
fn cmyk_jpegs_come_out_as_browsers_show_them() {
    let (outs, _) = variants("correctness/cmyk_plain_600x400.jpg");
    let thumb = by_name(&outs, "thumb");
    let rgb = image::load_from_memory(&thumb.data).unwrap().to_rgb8();
    near("plain red half", rgb.get_pixel(50, 100).0, [0, 0, 0], 8);
    near("plain blue half", rgb.get_pixel(350, 100).0, [0, 0, 0], 8);
    let f = "correctness/cmyk_adobe_inverted_600x400.jpg";
    let (outs, _) = variants(f);
    let thumb = by_name(&outs, "thumb");
    let rgb = image::load_from_memory(&thumb.data).unwrap().to_rgb8();
    near(
        &format!("{f} red half"),
        rgb.get_pixel(50, 100).0,
        [255, 0, 0],
        40,
    );
    near(
        &format!("{f} blue half"),
        rgb.get_pixel(350, 100).0,
        [0, 0, 255],
        40,
    );
    assert_eq!(icc(&thumb.data), None, "{f}: no CMYK profile on RGB pixels");
}

#[test]
fn grayscale_stays_grayscale() {
    for f in [
        "correctness/gray_900x600.jpg",
        "correctness/gray_900x600.png",
    ] {
        let (outs, _) = variants(f);
        let thumb = image::load_from_memory(&by_name(&outs, "thumb").data).unwrap();
        assert_eq!(thumb.color(), image::ColorType::L8, "{f}");
    }
}

#[test]
fn sixteen_bit_png_keeps_its_depth() {
    let (outs, _) = variants("correctness/png16_900x600.png");
    let thumb = image::load_from_memory(&by_name(&outs, "thumb").data).unwrap();
    assert_eq!(thumb.color(), image::ColorType::Rgb16);
    let p = thumb.to_rgb16().get_pixel(200, 100).0;
    assert!((i32::from(p[2]) - 40000).abs() < 300, "blue channel {p:?}");
}

/// IHDR's bit depth and colour type.
fn png_kind(data: &[u8]) -> (u8, u8) {
    assert_eq!(&data[12..16], b"IHDR");
    (data[24], data[25])
}

fn png_chunk(data: &[u8], kind: &[u8; 4]) -> Option<Vec<u8>> {
    img_parts::png::Png::from_bytes(Bytes::copy_from_slice(data))
        .unwrap()
        .chunk_by_type(*kind)
        .map(|c| c.contents().to_vec())
}

/// A PNG of colour type 3 (`palette` in RGBA; tRNS written when any entry is not opaque) or,
/// with `palette` empty, 1-bit gray; `at(x, y)` gives the index (or gray bit).
fn low_colour_png(w: u32, h: u32, palette: &[[u8; 4]], at: impl Fn(u32, u32) -> u8) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    let rows: Vec<u8> = if palette.is_empty() {
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::One);
        (0..h)
            .flat_map(|y| {
                let at = &at;
                (0..w.div_ceil(8)).map(move |byte| {
                    (0..8).fold(0u8, |acc, bit| {
                        let x = byte * 8 + bit;
                        acc | if x < w && at(x, y) != 0 {
                            0x80 >> bit
                        } else {
                            0
                        }
                    })
                })
            })
            .collect()
    } else {
        enc.set_color(png::ColorType::Indexed);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_palette(
            palette
                .iter()
                .flat_map(|e| [e[0], e[1], e[2]])
                .collect::<Vec<u8>>(),
        );
        if palette.iter().any(|e| e[3] != 255) {
            enc.set_trns(palette.iter().map(|e| e[3]).collect::<Vec<u8>>());
        }
        (0..h)
            .flat_map(|y| (0..w).map(move |x| (x, y)))
            .map(|(x, y)| at(x, y))
            .collect()
    };
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&rows).unwrap();
    writer.finish().unwrap();
    out
}

fn variants_of(name: &str, bytes: &[u8]) -> (Vec<Out>, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    variants(path.to_str().unwrap())
}

#[test]
fn palette_png_keeps_its_colours() {
    let bytes = fixture("correctness/palette_900x600.png");
    let source = image::load_from_memory(&bytes).unwrap().to_rgb8();
    let (outs, _) = variants("correctness/palette_900x600.png");
    let thumb = &by_name(&outs, "thumb").data;
    // Written in the original's own palette: every colour in it is one of the original's.
    assert_eq!(png_kind(thumb), (4, 3), "16 entries: 4-bit indices");
    assert_eq!(png_chunk(thumb, b"PLTE"), png_chunk(&bytes, b"PLTE"));
    let thumb = image::load_from_memory(thumb).unwrap().to_rgb8();
    // Flat bands: the middle of a band keeps the palette colour exactly.
    near(
        "palette band",
        thumb.get_pixel(12, 100).0,
        source.get_pixel(27, 225).0,
        0,
    );
}

#[test]
fn a_palette_photo_stays_in_its_palette_and_under_the_original() {
    // As a quantizer leaves a photo: 256 colours (along a ramp, stored in no particular
    // order), smooth areas in dither noise. Written back in full colour, `large` was 3.6 MB
    // against this file's 3.7 MB; in its palette it is 2.2 MB.
    let mut order: Vec<u8> = (0..=255).collect();
    fastrand::Rng::with_seed(3).shuffle(&mut order);
    // Entry i is step order[i] of the ramp; index[v] the entry of step v.
    let palette: Vec<[u8; 4]> = order
        .iter()
        .map(|&v| [v, 255 - v / 2, v / 4 * 3 + 40, 255])
        .collect();
    let mut index = [0u8; 256];
    for (i, &v) in order.iter().enumerate() {
        index[usize::from(v)] = i as u8;
    }
    let mut seed = 11u32;
    let mut noise = move || {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (seed >> 24) as i32 % 5 - 2
    };
    let (w, h) = (2600u32, 1700u32);
    let mut ramp = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let smooth = 128.0
                + 90.0 * ((x as f32) / 310.0).sin() * ((y as f32) / 270.0).cos()
                + 30.0 * ((x + 2 * y) as f32 / 97.0).sin();
            ramp.push((smooth as i32 + noise()).clamp(0, 255) as u8);
        }
    }
    let bytes = low_colour_png(w, h, &palette, |x, y| {
        index[usize::from(ramp[(y * w + x) as usize])]
    });
    let (outs, summary) = variants_of("quantized_2600x1700.png", &bytes);
    let names: Vec<&str> = outs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["thumb", "medium", "large", "original"]);
    assert_eq!(summary["warnings"], serde_json::json!([]), "{summary}");
    assert_sizes_ascend("quantized_2600x1700.png", &outs);
    let source = image::load_from_memory(&bytes).unwrap().to_rgb8();
    for out in &outs[..3] {
        assert_eq!(png_kind(&out.data), (8, 3), "{}", out.name);
        assert_eq!(png_chunk(&out.data, b"PLTE"), png_chunk(&bytes, b"PLTE"));
        assert_eq!(
            png_chunk(&out.data, b"tRNS"),
            None,
            "{}: all opaque",
            out.name
        );
        // Dithering keeps each area's colour: mean of a block against the same area of the
        // source (a block of 1/20 of the width, where the picture changes slowly).
        let img = image::load_from_memory(&out.data).unwrap().to_rgb8();
        assert_eq!((img.width(), img.height()), (out.width, out.height));
        let scale = w as f64 / f64::from(out.width);
        let block = out.width / 20;
        for (bx, by) in [(2, 2), (10, 5), (15, 11)] {
            let mean = |img: &image::RgbImage, x0: u32, y0: u32, n: u32| -> [f64; 3] {
                let mut sum = [0f64; 3];
                for y in y0..y0 + n {
                    for x in x0..x0 + n {
                        for (total, &v) in sum.iter_mut().zip(&img.get_pixel(x, y).0) {
                            *total += f64::from(v);
                        }
                    }
                }
                sum.map(|v| v / f64::from(n * n))
            };
            let got = mean(&img, bx * block, by * block, block);
            let s = |v: u32| (f64::from(v) * scale) as u32;
            let want = mean(&source, s(bx * block), s(by * block), s(block));
            for c in 0..3 {
                assert!(
                    (got[c] - want[c]).abs() < 4.0,
                    "{} block ({bx}, {by}): {got:?} against {want:?}",
                    out.name
                );
            }
        }
    }
}

#[test]
fn a_palette_with_transparency_keeps_it() {
    // Entry 0 fully transparent, 1 half, the rest opaque bands.
    let mut palette = vec![[0, 0, 0, 0], [200, 40, 40, 128]];
    palette.extend((0..14u8).map(|i| [i * 18, 100, 255 - i * 18, 255]));
    let bytes = low_colour_png(900, 600, &palette, |x, y| match (x, y) {
        (450.., 300..) => 0,
        (450.., _) => 1,
        _ => 2 + (x * 14 / 450) as u8,
    });
    let (outs, _) = variants_of("transparent_palette_900x600.png", &bytes);
    let thumb = &by_name(&outs, "thumb").data;
    assert_eq!(png_kind(thumb), (4, 3));
    assert_eq!(png_chunk(thumb, b"PLTE"), png_chunk(&bytes, b"PLTE"));
    assert_eq!(
        png_chunk(thumb, b"tRNS"),
        Some(vec![0, 128]),
        "tRNS up to the last translucent entry"
    );
    let rgba = image::load_from_memory(thumb).unwrap().to_rgba8();
    assert_eq!((rgba.width(), rgba.height()), (400, 267));
    assert_eq!(
        rgba.get_pixel(300, 220).0,
        [0, 0, 0, 0],
        "transparent corner"
    );
    assert_eq!(
        rgba.get_pixel(300, 60).0,
        [200, 40, 40, 128],
        "half-transparent area"
    );
    // x = 107 is 240 in the original: the middle of band 7 (entry 9).
    assert_eq!(rgba.get_pixel(107, 200).0, palette[9], "opaque band");
}

/// PRODUCT.md "Bilevel and few-colour images": a 1-bit source gets anti-aliased 8-bit gray
/// variants (as legible as a plain Lanczos downscale), not dithered 1-bit noise.
#[test]
fn a_one_bit_png_gets_anti_aliased_gray_variants() {
    // Black left third, white right third, a one-pixel checkerboard (50 % gray) between.
    let bytes = low_colour_png(900, 600, &[], |x, y| match x {
        0..300 => 0,
        300..600 => ((x + y) % 2) as u8,
        _ => 1,
    });
    let (outs, _) = variants_of("bilevel_900x600.png", &bytes);
    let thumb = &by_name(&outs, "thumb").data;
    assert_eq!(png_kind(thumb), (8, 0), "8-bit gray");
    let gray = image::load_from_memory(thumb).unwrap().to_luma8();
    assert_eq!((gray.width(), gray.height()), (400, 267));
    let levels = |x0: u32, x1: u32| {
        (x0..x1)
            .flat_map(|x| (0..gray.height()).map(move |y| (x, y)))
            .map(|(x, y)| gray.get_pixel(x, y)[0])
            .collect::<Vec<u8>>()
    };
    assert!(levels(0, 130).iter().all(|&v| v <= 2), "black stays black");
    assert!(
        levels(271, 400).iter().all(|&v| v >= 253),
        "white stays white"
    );
    // The checkerboard is a smooth mid gray, every pixel of it (dithering would give 0 and 255).
    let mid = levels(145, 255);
    assert!(
        mid.iter().all(|&v| (110..=145).contains(&v)),
        "gray area from {:?} to {:?}",
        mid.iter().min(),
        mid.iter().max()
    );
}

#[test]
fn interlaced_png_comes_out_whole_and_upright() {
    let source = fixture("correctness/interlaced_901x601.png");
    let (outs, summary) = variants("correctness/interlaced_901x601.png");
    let names: Vec<&str> = outs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["thumb", "original"], "{summary}");
    let thumb = image::load_from_memory(&by_name(&outs, "thumb").data).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (400, 267));
    assert_upright("interlaced thumb", &thumb);
    // A half-transparent diagonal band (x + y ≡ 180..199 mod 200) survives the resize.
    let a = thumb.to_rgba8().get_pixel(84, 0).0[3];
    assert!((100..=160).contains(&a), "band alpha {a}");
    assert_eq!(thumb.to_rgba8().get_pixel(40, 0).0[3], 255);
    // The original keeps every pixel of every Adam7 pass.
    let original = by_name(&outs, "original");
    assert_no_metadata(original);
    assert_eq!(
        image::load_from_memory(&original.data).unwrap().to_rgba8(),
        image::load_from_memory(&source).unwrap().to_rgba8()
    );
}

#[track_caller]
fn assert_alpha_kept(what: &str, data: &[u8]) {
    let img = image::load_from_memory(data).unwrap();
    assert!(img.color().has_alpha(), "{what}: alpha dropped");
    let rgba = img.to_rgba8();
    let (w, h) = rgba.dimensions();
    assert_eq!(
        rgba.get_pixel(w / 4, h / 2).0[3],
        255,
        "{what}: left half opaque"
    );
    assert!(
        rgba.get_pixel(w * 3 / 4, h - 3).0[3] < 120,
        "{what}: bottom right transparent"
    );
}

#[test]
fn webp_lossless_and_lossy_with_alpha() {
    let (outs, _) = variants("correctness/webp_lossless_alpha_900x600.webp");
    let thumb = by_name(&outs, "thumb");
    assert!(
        thumb.data.windows(4).any(|w| w == b"VP8L"),
        "lossless stays lossless"
    );
    assert_alpha_kept("lossless thumb", &thumb.data);
    let (outs, _) = variants("correctness/webp_lossy_alpha_900x600.webp");
    let thumb = by_name(&outs, "thumb");
    assert!(
        thumb.data.windows(4).any(|w| w == b"VP8 "),
        "lossy stays lossy"
    );
    assert!(
        thumb.data.windows(4).any(|w| w == b"ALPH"),
        "lossy keeps its alpha plane"
    );
    assert_alpha_kept("lossy thumb", &thumb.data);
}

#[test]
fn png_alpha_is_kept() {
    let (outs, _) = variants("png_alpha_landscape_1000x600.png");
    assert_alpha_kept("png thumb", &by_name(&outs, "thumb").data);
}

#[test]
fn animated_webp_gives_its_first_frame_with_a_warning() {
    let (outs, summary) = variants("correctness/webp_animated_900x600.webp");
    let thumb = image::load_from_memory(&by_name(&outs, "thumb").data)
        .unwrap()
        .to_rgb8();
    near(
        "first frame",
        thumb.get_pixel(100, 100).0,
        [220, 30, 30],
        10,
    );
    let warnings = summary["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("first frame")),
        "{summary}"
    );
}

#[test]
fn progressive_jpeg_photo() {
    // The real photos are progressive JPEGs.
    let (outs, summary) = variants("photos/jpeg_sunset_4272x2848.jpg");
    assert_eq!(summary["width"], 4272);
    let names: Vec<&str> = outs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["thumb", "medium", "large"]);
    for o in &outs {
        let img = image::load_from_memory(&o.data).unwrap();
        assert_eq!((img.width(), img.height()), (o.width, o.height));
        assert_no_metadata(o);
    }
}

#[test]
fn decompression_bomb_is_refused_from_its_header() {
    let stack = Stack::start();
    let job = Job::fixture(&stack, "correctness/bomb_50000x50000.png", "image/png");
    let run = job.run();
    let cb = assert_error(
        &stack,
        &job,
        &run,
        "input_too_large",
        "Failed to process image: input too large: 50000x50000",
    );
    assert!(cb["error"].as_str().unwrap().contains("MAX_INPUT_PIXELS"));
    assert!(
        stack.assets().is_empty() && stack.keys(ARCHIVE).is_empty(),
        "refused before any work"
    );
}

/// Each variant (smallest first, `original` last) is at most as many bytes as the next.
#[track_caller]
fn assert_sizes_ascend(what: &str, outs: &[Out]) {
    for pair in outs.windows(2) {
        assert!(
            pair[0].data.len() <= pair[1].data.len(),
            "{what}: {} ({} bytes) is larger than {} ({} bytes)",
            pair[0].name,
            pair[0].data.len(),
            pair[1].name,
            pair[1].data.len()
        );
    }
}

#[test]
fn variants_are_never_larger_than_the_next_size_up() {
    let fixtures = [
        "jpeg_large_band_3000x2000.jpg",
        "png_square_1300x1300.png",
        "webp_lossy_2600x1400.webp",
        "photos/jpeg_portrait_wine_2560x3837.jpg",
        "photos/derived_webp_life_3088x2056.webp",
        "correctness/png16_900x600.png",
        "correctness/gray_900x600.png",
    ];
    for f in fixtures {
        let (outs, _) = variants(f);
        assert_sizes_ascend(f, &outs);
    }
}

/// A 2600×1700 JPEG of noise (from `seed`) at quality 20, with a red `red`×`red` block at its
/// top-left (none for 0).
fn noise_at_quality_20(mut seed: u32, red: u32) -> Vec<u8> {
    let noise = image::RgbImage::from_fn(2600, 1700, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let [a, b, c, _] = seed.to_le_bytes();
        if x < red && y < red {
            image::Rgb([230, 20, 20])
        } else {
            image::Rgb([a, b, c])
        }
    });
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 20)
        .encode_image(&noise)
        .unwrap();
    bytes
}

/// The mean colour of the 150×150 block of `img` from (`x0`, `y0`).
fn mean_of_150(img: &image::RgbImage, x0: u32, y0: u32) -> [u32; 3] {
    let mut sum = [0u32; 3];
    for y in y0..y0 + 150 {
        for x in x0..x0 + 150 {
            let p = img.get_pixel(x, y);
            (0..3).for_each(|c| sum[c] += u32::from(p[c]));
        }
    }
    sum.map(|s| s / (150 * 150))
}

#[test]
fn a_heavily_compressed_original_is_not_outgrown_by_large() {
    // Noise at JPEG quality 20: a fresh `large` at quality 80 would be far bigger.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("low_quality_2600x1700.jpg");
    std::fs::write(&path, noise_at_quality_20(7, 0)).unwrap();
    let (outs, summary) = variants(path.to_str().unwrap());
    let names: Vec<&str> = outs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["thumb", "medium", "large", "original"]);
    assert_sizes_ascend("low_quality_2600x1700.jpg", &outs);
    let large = image::load_from_memory(&by_name(&outs, "large").data).unwrap();
    assert_eq!((large.width(), large.height()), (2400, 1569));
    assert_eq!(
        summary["warnings"],
        serde_json::json!([]),
        "it fits: no warning"
    );
}

#[test]
fn a_heavily_compressed_turned_original_has_large_encoded_again_upright() {
    // As above, stored sideways (EXIF orientation 6) with a red block at its top-left: `large`
    // is encoded once from bands turned as the encoder takes them, then again at lower quality
    // from the whole picture turned upright, which must be the same picture.
    let jpeg = noise_at_quality_20(11, 400);
    // APP1 Exif after SOI: a big-endian TIFF header and one IFD entry, 0x0112 SHORT = 6.
    let mut app1 = b"Exif\0\0MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0".to_vec();
    app1.extend_from_slice(&[0, 0, 0, 0]);
    let mut bytes = jpeg[..2].to_vec();
    bytes.extend_from_slice(&[0xFF, 0xE1]);
    bytes.extend_from_slice(&(app1.len() as u16 + 2).to_be_bytes());
    bytes.extend_from_slice(&app1);
    bytes.extend_from_slice(&jpeg[2..]);
    let (outs, summary) = variants_of("low_quality_turned_2600x1700.jpg", &bytes);
    assert_sizes_ascend("low_quality_turned_2600x1700.jpg", &outs);
    assert_eq!(summary["source"]["orientation_applied"], 6);
    let large = image::load_from_memory(&by_name(&outs, "large").data)
        .unwrap()
        .to_rgb8();
    assert_eq!((large.width(), large.height()), (1569, 2400));
    // Turned a quarter clockwise, the stored top-left is shown at the top-right.
    let mean = |x0, y0| mean_of_150(&large, x0, y0);
    let top_right = mean(1569 - 200, 50);
    assert!(
        top_right[0] > 170 && top_right[1] < 80 && top_right[2] < 80,
        "{top_right:?}"
    );
    let top_left = mean(50, 50);
    assert!(top_left[1] > 90, "{top_left:?}");
    assert_eq!(summary["warnings"], serde_json::json!([]), "it fits");
}

#[test]
fn a_heavily_compressed_upright_original_has_large_encoded_again_from_its_pixels() {
    // Upright and baseline: `large` is encoded band by band while the file decodes. Bigger
    // than the original, it is encoded again at lower quality from its pixels, which must be
    // the same picture: the red block at the top-left, noise elsewhere.
    let (outs, summary) = variants_of(
        "low_quality_upright_2600x1700.jpg",
        &noise_at_quality_20(13, 400),
    );
    assert_sizes_ascend("low_quality_upright_2600x1700.jpg", &outs);
    assert_eq!(summary["source"]["orientation_applied"], 1);
    let large = image::load_from_memory(&by_name(&outs, "large").data)
        .unwrap()
        .to_rgb8();
    assert_eq!((large.width(), large.height()), (2400, 1569));
    let mean = |x0, y0| mean_of_150(&large, x0, y0);
    let top_left = mean(50, 50);
    assert!(
        top_left[0] > 170 && top_left[1] < 80 && top_left[2] < 80,
        "{top_left:?}"
    );
    let elsewhere = mean(1200, 700);
    assert!(elsewhere[1] > 90, "{elsewhere:?}");
    assert_eq!(summary["warnings"], serde_json::json!([]), "it fits");
}

#[test]
fn a_crisp_line_drawing_whose_large_outgrows_it_is_reported() {
    // One-pixel lines on white compress to almost nothing; resized, every line turns into
    // antialiased greys, and no lossless setting brings `large` back under the original.
    let drawing = image::GrayImage::from_fn(2500, 1600, |x, y| {
        image::Luma([if (x + 3 * y) % 29 == 0 || (5 * x + y) % 41 == 0 {
            0
        } else {
            255
        }])
    });
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lines_2500x1600.png");
    drawing.save(&path).unwrap();
    let (outs, summary) = variants(path.to_str().unwrap());
    let (large, original) = (by_name(&outs, "large"), by_name(&outs, "original"));
    assert!(
        large.data.len() > original.data.len(),
        "not the case under test"
    );
    let decoded = image::load_from_memory(&large.data).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (2400, 1536));
    let warnings = summary["warnings"].to_string();
    assert!(
        warnings.contains("large is") && warnings.contains("larger than the next size up"),
        "{warnings}"
    );
}
