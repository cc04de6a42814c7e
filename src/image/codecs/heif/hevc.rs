//! `hvc1` items (HEVC, ITU-T H.265) through heic-rs's decoder: pure Rust,
//! `forbid(unsafe_code)`, one coded picture at a time.

use std::borrow::Cow;

use heic_rs::context::Context;
use heic_rs::hevc::{ChromaFormat, Frame, Info};
use heic_rs::props::ItemProps;
use heic_rs::Nclx;

use super::{from_heic_rs, Config};
use crate::image::ImageError;

/// What an item's `hvcC` and SPS say, without decoding: refuses the chroma formats heic-rs
/// cannot decode (its range-extension path stops early on 4:2:2 and 4:4:4 pictures) and a
/// coded picture larger than the item's `declared` size.
///
/// Errors: no `hvcC`, parameter sets that do not parse, a picture larger than declared
/// (`Invalid`); 4:2:2 or 4:4:4 (`Unsupported`, "HEIC in 4:4:4 chroma").
pub(super) fn config(
    ctx: &Context<'_>,
    item: u32,
    declared: (u32, u32),
) -> Result<Config, ImageError> {
    let (props, _, info) = checked(ctx, item, declared)?;
    let hvcc = props.hvcc.as_ref().ok_or_else(no_hvcc)?;
    // The SPS says it (refused in `checked`), and so does the configuration record.
    refuse_chroma(ChromaFormat::from_idc(hvcc.chroma_format).unwrap_or(info.chroma))?;
    let signal = heic_rs::hevc::video_signal(&hvcc.parameter_sets()).map_err(from_heic_rs)?;
    Ok(Config {
        bit_depth: info.bit_depth,
        chroma: info.chroma,
        signalled: Nclx::from_video_signal(signal),
    })
}

fn refuse_chroma(chroma: ChromaFormat) -> Result<(), ImageError> {
    let name = match chroma {
        ChromaFormat::Yuv420 | ChromaFormat::Monochrome => return Ok(()),
        ChromaFormat::Yuv422 => "4:2:2",
        ChromaFormat::Yuv444 => "4:4:4",
    };
    Err(ImageError::Unsupported(format!(
        "HEIC in {name} chroma (HEVC range extensions; only 4:2:0 and monochrome are decoded)"
    )))
}

/// How much larger than declared (`ispe`) a coded picture may be: HEVC codes whole minimum
/// coding blocks and takes the rest off with its conformance window, so an encoder may code up
/// to a CTB (64 samples) more each way — and some crop far more (an iPhone stereo pair codes
/// 160 × 64 for a 64 × 64 view). The decoded, cropped picture may be a CTB larger each way;
/// the allocated one up to `CODED_AREA_FACTOR` times that area.
const CODING_MARGIN: u32 = 64;
const CODED_AREA_FACTOR: u64 = 4;

/// Decodes one `hvc1` item declared `declared` (its `ispe`, width × height) into planes of
/// exactly that size.
///
/// Errors: a coded picture larger than declared, refused before decoding (heic-rs sizes its
/// planes from the SPS: a 40 KB file declaring 64 × 64 once asked it for 430 MB), smaller
/// than declared, or a chroma format it cannot decode; heic-rs's own errors.
pub(super) fn decode(
    ctx: &Context<'_>,
    item: u32,
    declared: (u32, u32),
) -> Result<Frame, ImageError> {
    let (props, data, _) = checked(ctx, item, declared)?;
    let hvcc = props.hvcc.as_ref().ok_or_else(no_hvcc)?;
    let nals = hvcc.split_nals(&data).map_err(from_heic_rs)?;
    let frame = heic_rs::hevc::decode_still(&hvcc.parameter_sets(), &nals).map_err(from_heic_rs)?;
    frame.validate().map_err(from_heic_rs)?;
    super::planes::fit(frame, declared)
}

fn no_hvcc() -> ImageError {
    ImageError::Invalid("cannot decode: HEIC image without hvcC".into())
}

/// Item `item`'s properties, data and SPS geometry, its coded picture checked against
/// `declared` (`check_coded_size`) and its chroma format against what heic-rs decodes.
fn checked<'a>(
    ctx: &Context<'a>,
    item: u32,
    declared: (u32, u32),
) -> Result<(ItemProps<'a>, Cow<'a, [u8]>, Info), ImageError> {
    let props = ctx.props(item).map_err(from_heic_rs)?;
    let hvcc = props.hvcc.as_ref().ok_or_else(no_hvcc)?;
    let params = hvcc.parameter_sets();
    let data = ctx.item_data(item).map_err(from_heic_rs)?;
    let nals = hvcc.split_nals(&data).map_err(from_heic_rs)?;
    check_coded_size(&params, &nals, declared)?;
    let info = heic_rs::hevc::probe(&params).map_err(from_heic_rs)?;
    refuse_chroma(info.chroma)?;
    drop(nals);
    Ok((props, data, info))
}

/// Refuses parameter sets and slices whose picture is larger than `declared` (its item's
/// `ispe`) by more than `CODING_MARGIN` allows: heic-rs sizes its planes from the SPS, so this bounds its
/// allocation by the container's size (a 40 KB file declaring 64 × 64 once asked for 430 MB).
fn check_coded_size(
    params: &[&[u8]],
    slices: &[&[u8]],
    declared: (u32, u32),
) -> Result<(), ImageError> {
    let (w, h) = declared;
    let (cw, ch) = heic_rs::hevc::coded_size(params, slices).map_err(from_heic_rs)?;
    let shown = heic_rs::hevc::probe(params).map_err(from_heic_rs)?;
    let room = |n: u32| u64::from(n) + u64::from(CODING_MARGIN);
    let too_big = u64::from(shown.width) > room(w)
        || u64::from(shown.height) > room(h)
        || u64::from(cw) * u64::from(ch) > CODED_AREA_FACTOR * room(w) * room(h);
    if too_big {
        return Err(ImageError::Invalid(format!(
            "HEIC coded picture {cw}x{ch} is larger than its container declares ({w}x{h})"
        )));
    }
    Ok(())
}
