//! Decoded pixels: colours of the drawn areas, orientation, grids strip by strip, alpha,
//! frames, the ICC profile.

use image::{ColorType, DynamicImage, GenericImageView};

use super::*;
use crate::image::codecs::heif::{open, Applied};
use crate::image::ColourModel;

#[test]
fn single_pictures_keep_their_drawn_colours() {
    for name in [
        "h_patches.heic",
        "a_patches.avif",
        "a_444.avif",
        "h_icc.heic",
        "a_icc.avif",
    ] {
        let (h, img) = decode_fixture(name);
        assert_eq!(
            (h.width, h.height, h.bit_depth, h.frames),
            (96, 64, 8, 1),
            "{name}"
        );
        assert_eq!(
            (h.orientation, h.alpha, h.colour_model),
            (1, false, ColourModel::YCbCr)
        );
        assert!(h.warnings.is_empty(), "{name}: {:?}", h.warnings);
        assert_patches(name, &img);
    }
}

#[test]
fn limited_range_and_bt709_matrix_are_read_from_nclx() {
    for name in ["h_limited709.heic", "a_limited709.avif"] {
        let (h, img) = decode_fixture(name);
        assert!(
            h.icc.is_none(),
            "{name}: BT.709 primaries are shown as sRGB"
        );
        assert_patches(name, &img);
    }
}

#[test]
fn deeper_files_give_16_bit_from_decode_and_8_bit_from_read() {
    for (name, depth) in [
        ("h_10bit.heic", 10),
        ("a_10bit.avif", 10),
        ("a_12bit.avif", 12),
    ] {
        let bytes = fixture(name);
        let (d, h) = open(&bytes, LIMIT).unwrap();
        assert_eq!(h.bit_depth, depth, "{name}");
        assert_eq!(h.decoded_bytes, 96 * 64 * 3 * 2, "{name}");
        let wide = d.decode().unwrap();
        assert_eq!(wide.color(), ColorType::Rgb16, "{name}");
        let (_, img) = read_all(&bytes);
        assert_eq!(img.color(), ColorType::Rgb8, "{name}");
        assert_patches(name, &img);
        let p = wide.as_rgb16().unwrap().get_pixel(16 + 64, 16 + 32).0;
        let want = PATCHES[5].map(|v| u16::from(v) * 257);
        assert!(
            (0..3).all(|c| p[c].abs_diff(want[c]) <= 3 * 257),
            "{name}: {p:?}"
        );
    }
}

#[test]
fn monochrome_avif_is_gray() {
    let (h, img) = decode_fixture("a_mono.avif");
    assert_eq!(
        (h.colour_model, img.color()),
        (ColourModel::Gray, ColorType::L8)
    );
    // The drawn patches' luma (BT.601, the avifenc default matrix for its YUV).
    for (i, rgb) in PATCHES.iter().enumerate() {
        let y = (0.299 * f64::from(rgb[0]) + 0.587 * f64::from(rgb[1]) + 0.114 * f64::from(rgb[2]))
            .round() as u8;
        let (x, yy) = (16 + 32 * (i as u32 % 3), 16 + 32 * (i as u32 / 3));
        let got = img.get_pixel(x, yy).0[0];
        assert!(got.abs_diff(y) <= 3, "patch {i}: {got}, luma {y}");
    }
}

#[test]
fn the_eight_orientations_are_applied_and_reported() {
    for o in 1..=8u8 {
        let name = format!("h_orient{o}.heic");
        let (h, img) = decode_fixture(&name);
        let size = if o >= 5 { (48, 64) } else { (64, 48) };
        assert_eq!((h.width, h.height), size, "{name}");
        assert_eq!((h.orientation, h.applied_orientation), (1, o), "{name}");
        // libheif codes the 64 × 48 drawing as 64 × 64 with a clean aperture.
        assert_eq!((h.stored_width, h.stored_height), (64, 64), "{name}");
        assert!(matches!(
            h.transforms[0],
            Applied::Crop {
                width: 64,
                height: 48,
                ..
            }
        ));
        assert_corners(&name, &img, corners_for_exif(o));
    }
}

#[test]
fn clap_irot_and_imir_apply_in_the_order_the_file_lists_them() {
    let (h, img) = decode_fixture("h_clap_orient6.heic");
    assert_eq!((h.width, h.height), (45, 61));
    assert_corners("h_clap_orient6", &img, corners_for_exif(6));
    let (h, img) = decode_fixture("a_irot1_imir0.avif");
    // irot 1 (a quarter anticlockwise), then imir 0 (top and bottom exchanged): EXIF 5.
    assert_eq!((h.width, h.height, h.applied_orientation), (48, 64, 5));
    assert_corners("a_irot1_imir0", &img, corners_for_exif(5));
    // clap (40 × 30 at 8, 6) then irot 3: the crop turned a quarter clockwise.
    let (h, img) = decode_fixture("a_clap_irot3.avif");
    assert_eq!((h.width, h.height), (30, 40));
    assert_eq!(
        h.transforms,
        [
            Applied::Crop {
                x: 8,
                y: 6,
                width: 40,
                height: 30
            },
            Applied::Rotate {
                degrees_anticlockwise: 270
            }
        ]
    );
    assert_corners("a_clap_irot3", &img, [BLUE, RED, YELLOW, GREEN]);
    // The same two listed the other way round: turned first (48 × 64), then cropped to
    // 40 × 30 at (0, 14) of the turned image.
    let (h, img) = decode_fixture("a_irot3_then_clap.avif");
    assert_eq!((h.width, h.height), (40, 30));
    assert_eq!(
        h.transforms[1],
        Applied::Crop {
            x: 0,
            y: 14,
            width: 40,
            height: 30
        }
    );
    assert_corners("a_irot3_then_clap", &img, [BLUE, RED, YELLOW, GREEN]);
    assert_near("a_irot3_then_clap", &img, (20, 26), YELLOW);
    assert_near("a_irot3_then_clap", &img, (30, 26), GREEN);
}

/// heic-rs's own whole decode (every tile composed, converted once, transformations applied):
/// the reference `read`'s strips must equal byte for byte.
fn heic_rs_whole(bytes: &[u8]) -> Vec<u8> {
    let opts = heic_rs::DecodeOptions::default().with_threads(Some(1));
    heic_rs::decode(bytes, &opts).unwrap().data
}

#[test]
fn grids_read_strip_by_strip_equal_the_whole_image_decoded_at_once() {
    let grids = [
        ("h_grid.heic", (640, 400)),
        ("h_grid_orient3.heic", (520, 300)),
        ("h_grid_orient6.heic", (300, 520)),
        ("h_grid_orient8.heic", (300, 520)),
        // A last tile row (column) one pixel deep, the first strip walked.
        ("h_grid_odd_orient3.heic", (200, 257)),
        ("h_grid_odd_orient8.heic", (200, 257)),
    ];
    for (name, size) in grids {
        let bytes = fixture(name);
        let (h, img) = decode_fixture(name);
        assert_same(name, &img.to_rgb8(), &heic_rs_whole(&bytes));
        assert_eq!((h.width, h.height), size, "{name}");
        // The drawn quadrant colours sit in the corners, turned as EXIF would turn them.
        assert_corners(name, &img, corners_for_exif(h.applied_orientation));
    }
}

#[test]
fn an_avif_grid_read_strip_by_strip_equals_its_tiles_composed_and_converted_at_once() {
    let bytes = fixture("a_grid.avif");
    let (h, img) = decode_fixture("a_grid.avif");
    assert_eq!((h.width, h.height, h.stored_width), (512, 384, 512));
    let c = crate::image::codecs::heif::container::open(&bytes, LIMIT).unwrap();
    assert_eq!(
        (c.image.rows, c.image.columns, c.image.tile),
        (2, 2, (256, 192))
    );
    let mut av1 = crate::image::codecs::heif::av1::Av1::new(1, 256 * 192).unwrap();
    let tiles: Vec<_> = c
        .image
        .tiles
        .iter()
        .map(|&t| {
            av1.decode(&c.ctx.item_data(t).unwrap(), c.image.tile)
                .unwrap()
        })
        .collect();
    let rows = crate::image::codecs::heif::planes::Axis::Rows;
    let whole = crate::image::codecs::heif::planes::compose(&tiles, (2, 2), (512, 384), None, rows)
        .unwrap();
    let rgb = heic_rs::color::convert(
        &whole,
        None,
        c.nclx,
        heic_rs::PixelLayout::Rgb8,
        u64::MAX,
        Some(1),
    )
    .unwrap();
    assert_same("a_grid", &img.to_rgb8(), &rgb.data);
    assert_corners("a_grid", &img, [RED, GREEN, BLUE, YELLOW]);
}

#[test]
fn straight_alpha_is_kept_and_premultiplied_colour_made_straight() {
    for name in ["h_alpha.heic", "a_alpha.avif", "a_alpha_prem.avif"] {
        let (h, img) = decode_fixture(name);
        assert!(h.alpha, "{name}");
        assert_eq!(img.color(), ColorType::Rgba8, "{name}");
        assert_patches(name, &img);
        // Alpha 96 on the left half, opaque on the right.
        assert!(img.get_pixel(16, 16).0[3].abs_diff(96) <= 1, "{name}");
        assert_eq!(img.get_pixel(80, 48).0[3], 255, "{name}");
    }
}

#[test]
fn limited_range_alpha_is_stretched_as_libavif_does() {
    let (h, img) = decode_fixture("a_alpha_limited.avif");
    assert!(h.alpha);
    // Stored 96 and 255 (lossless); read as 16..235: (96 − 16) · 255 / 219 = 93.2.
    assert_eq!(img.get_pixel(16, 16).0[3], 93);
    assert_eq!(img.get_pixel(80, 48).0[3], 255);
}

#[test]
fn thumbnails_and_gain_maps_are_ignored_and_bursts_counted() {
    let (h, img) = decode_fixture("h_thumb.heic");
    assert_eq!((h.width, h.height, h.frames), (96, 64, 1));
    assert_patches("h_thumb", &img);
    let (h, img) = decode_fixture("h_gainmap.heic");
    assert!(h.gain_map && !h.alpha);
    assert!(
        h.warnings
            .iter()
            .any(|w| w.contains("gain map") && w.contains("hdrgainmap")),
        "{:?}",
        h.warnings
    );
    assert_patches("h_gainmap", &img);
    let (h, img) = decode_fixture("h_burst.heic");
    assert_eq!(h.frames, 3);
    assert_patches("h_burst", &img);
    let (h, img) = decode_fixture("a_sequence.avifs");
    assert_eq!((h.frames, h.width, h.height), (3, 96, 64));
    assert_patches("a_sequence", &img);
}

#[test]
fn bt601_primaries_get_a_profile_from_a_colr_box_but_not_from_the_bitstream_alone() {
    // No colr, the HEVC VUI saying BT.601 525 (an encoder's default, as in Android HEICs).
    let (h, img) = decode_fixture("h_vui_bt601.heic");
    assert_eq!((h.icc, h.icc_synthesized), (None, false));
    assert_patches("h_vui_bt601", &img);
    // A colr nclx box saying the same is honoured.
    let (h, img) = decode_fixture("a_bt601_nclx.avif");
    assert!(h.icc_synthesized);
    assert_eq!(description(&profile(&h.icc.unwrap())), "HEIF nclx 6/6");
    assert_patches("a_bt601_nclx", &img);
}

fn profile(icc: &[u8]) -> moxcms::ColorProfile {
    moxcms::ColorProfile::new_from_slice(icc).unwrap()
}

fn description(p: &moxcms::ColorProfile) -> String {
    match p.description.as_ref() {
        Some(moxcms::ProfileText::Localizable(l)) => l[0].value.clone(),
        Some(moxcms::ProfileText::PlainString(s)) => s.clone(),
        Some(moxcms::ProfileText::Description(d)) => d.ascii_string.clone(),
        None => String::new(),
    }
}

/// The decoded pixel at `at` shown through `icc` as sRGB (moxcms, relative colorimetric).
fn as_srgb(icc: &[u8], img: &DynamicImage, at: (u32, u32)) -> [u8; 3] {
    let t = profile(icc)
        .create_transform_8bit(
            moxcms::Layout::Rgb,
            &moxcms::ColorProfile::new_srgb(),
            moxcms::Layout::Rgb,
            moxcms::TransformOptions::default(),
        )
        .unwrap();
    let p = img.get_pixel(at.0, at.1).0;
    let mut out = [0u8; 3];
    t.transform(&p[..3], &mut out).unwrap();
    out
}

#[test]
fn an_icc_profile_is_passed_on_as_stored() {
    for name in ["h_icc.heic", "a_icc.avif"] {
        let (h, _) = decode_fixture(name);
        let icc = h.icc.unwrap();
        assert!(!h.icc_synthesized);
        assert!(description(&profile(&icc)).contains("sRGB"), "{name}");
    }
}

#[test]
fn an_nclx_that_is_not_srgb_gets_a_profile_made_for_it() {
    // Display P3 (nclx 12/13): stored values as drawn, and a profile that shows the in-gamut
    // patches (blue, grey, skin, sky) as their P3 → sRGB conversion (computed independently
    // in README.md).
    let p3 = [
        (2, [34, 61, 208]),
        (3, [128, 128, 128]),
        (4, [232, 168, 135]),
        (5, [73, 142, 223]),
    ];
    for name in ["h_p3_nclx.heic", "a_p3_nclx.avif"] {
        let (h, img) = decode_fixture(name);
        assert!(h.icc_synthesized, "{name}");
        let icc = h.icc.unwrap();
        assert!(
            icc.len() < 4096,
            "{name}: {} bytes, carried into variants",
            icc.len()
        );
        assert_eq!(description(&profile(&icc)), "Display P3");
        assert_patches(name, &img);
        for (i, want) in p3 {
            let at = (16 + 32 * (i % 3), 16 + 32 * (i / 3));
            let got = as_srgb(&icc, &img, at);
            assert!(
                (0..3).all(|c| got[c].abs_diff(want[c]) <= 3),
                "{name} patch {i}: {got:?}, want {want:?}"
            );
        }
        assert_eq!(
            icc,
            open(&fixture(name), LIMIT).unwrap().1.icc.unwrap(),
            "the same bytes every time"
        );
    }
    let (h, img) = decode_fixture("a_bt2020.avif");
    let icc = h.icc.unwrap();
    assert_eq!(description(&profile(&icc)), "HEIF nclx 9/14");
    assert!(as_srgb(&icc, &img, (16, 48))
        .iter()
        .all(|&v| v.abs_diff(128) <= 3));
    let skin = as_srgb(&icc, &img, (48, 48));
    assert!(
        (0..3).all(|c| skin[c].abs_diff([250, 163, 134][c]) <= 3),
        "{skin:?}"
    );
}
