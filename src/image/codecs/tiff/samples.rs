//! What the chosen page's samples are (TIFF 6.0 sections 3–8, 16, 21–23), and the codings we
//! do not decode, refused by name from the header before any pixel is read.

use tiff::decoder::ifd::Value;
use tiff::tags::Tag;

use super::ifd::Ifd;
use super::{tiff_error, Tiff};
use crate::image::codecs::ColourModel;
use crate::image::ImageError;

/// PhotometricInterpretation values (TIFF 6.0 section 8 and 21–23).
pub(super) mod photometric {
    pub const WHITE_IS_ZERO: u16 = 0;
    pub const BLACK_IS_ZERO: u16 = 1;
    pub const RGB: u16 = 2;
    pub const PALETTE: u16 = 3;
    pub const CMYK: u16 = 5;
    pub const YCBCR: u16 = 6;
    pub const CIELAB: u16 = 8;
    pub const ICCLAB: u16 = 9;
}

/// Compression values that steer our own code (the `tiff` crate reads LZW and PackBits
/// itself).
pub(super) mod compression {
    pub const NONE: u16 = 1;
    pub const CCITT_G4: u16 = 4;
    pub const JPEG: u16 = 7;
    pub const DEFLATE: u16 = 8;
    pub const DEFLATE_OLD: u16 = 32946;
}

/// How an alpha channel (the first ExtraSamples entry) relates to the colour samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Alpha {
    /// Unassociated alpha (ExtraSamples 2), or a fourth RGB sample with no ExtraSamples tag.
    Straight,
    /// Associated alpha (ExtraSamples 1): the colour samples are premultiplied.
    Premultiplied,
}

/// The colour the samples describe.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Colour {
    /// BlackIsZero, or WhiteIsZero (inverted by us, not by the crate).
    Gray {
        white_is_zero: bool,
    },
    /// RGBPalette: the ColorMap as 8-bit RGB, one entry per index value.
    Palette(Vec<[u8; 3]>),
    Rgb,
    /// Separated with InkSet 1: ink values, 0 = no ink (not Adobe-inverted).
    Cmyk,
    /// CIELab (a*, b* signed) or ICCLab (a*, b* offset by 128), D50.
    Lab {
        icc: bool,
    },
    /// Y′CbCr: `jpeg` when JPEG-compressed (JFIF's conversion, as libjpeg does for libtiff);
    /// otherwise the YCbCrCoefficients (Kr, Kg, Kb) and ReferenceBlackWhite of the tags.
    YCbCr {
        jpeg: bool,
        luma: [f32; 3],
        reference: [f32; 6],
    },
}

/// The stored samples of the chosen page.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Samples {
    pub colour: Colour,
    /// Bits per sample: 1–8 for one gray or palette sample, otherwise 8 or 16.
    pub bits: u8,
    /// Colour samples per pixel: 1, 3 or 4.
    pub colour_samples: u16,
    pub alpha: Option<Alpha>,
    /// SamplesPerPixel as stored (colour, alpha and any other extra samples).
    pub stored: u16,
    /// PlanarConfiguration 2: one plane per sample.
    pub planar: bool,
    pub compression: u16,
    /// Predictor 2 (horizontal differencing) is in use.
    pub predictor: bool,
}

impl Samples {
    /// Samples per pixel the decoder uses: the colour ones and alpha.
    pub fn used(&self) -> u16 {
        self.colour_samples + u16::from(self.alpha.is_some())
    }

    /// How the callback names the stored colour.
    pub fn colour_model(&self) -> ColourModel {
        let alpha = self.alpha.is_some();
        match self.colour {
            Colour::Gray { .. } if alpha => ColourModel::GrayAlpha,
            Colour::Gray { .. } => ColourModel::Gray,
            Colour::Palette(_) => ColourModel::Indexed,
            Colour::Cmyk => ColourModel::Cmyk,
            Colour::YCbCr { .. } => ColourModel::YCbCr,
            // Its pixels arrive as sRGB.
            Colour::Lab { .. } => ColourModel::Lab,
            Colour::Rgb if alpha => ColourModel::Rgba,
            Colour::Rgb => ColourModel::Rgb,
        }
    }

    /// The 8-bit rows `read` gives: gray stays gray (a palette of grays too), the rest is RGB.
    pub fn layout(&self) -> image::ColorType {
        use image::ColorType as C;
        let alpha = self.alpha.is_some();
        match &self.colour {
            Colour::Gray { .. } if alpha => C::La8,
            Colour::Gray { .. } => C::L8,
            Colour::Palette(map) if map.iter().all(|[r, g, b]| r == g && g == b) => match alpha {
                true => C::La8,
                false => C::L8,
            },
            _ if alpha => C::Rgba8,
            _ => C::Rgb8,
        }
    }

    /// `decode` keeps 16 bits for 16-bit gray and RGB (with or without alpha).
    pub fn keeps_16_bits(&self) -> bool {
        self.bits == 16 && matches!(self.colour, Colour::Gray { .. } | Colour::Rgb)
    }
}

/// The compression, sample format and photometric interpretation the walker read, refused by
/// name where we do not decode them (before the `tiff` crate sees the file), in that order, so
/// that a coding we do not decode is named even in a file that also lacks a tag. `formats`:
/// the SampleFormat values of the samples (empty when the tag is absent: unsigned integers).
/// A page without PhotometricInterpretation gets libtiff's guess (`default_photometric`);
/// `Invalid` when there is none to make.
pub(super) fn check_coding(ifd: &Ifd, formats: &[u64]) -> Result<(u16, u16), ImageError> {
    let compression = ifd.compression.unwrap_or(1);
    let unsupported = |what: String| Err(ImageError::Unsupported(format!("TIFF with {what}")));
    let name = match compression {
        1 | 4 | 5 | 7 | 8 | 32946 | 32773 => None,
        2 => Some("CCITT modified Huffman (MH) compression"),
        3 => Some("CCITT Group 3 fax compression"),
        6 => Some("old-style JPEG compression (compression 6)"),
        9 | 10 => Some("JBIG compression"),
        32809 => Some("ThunderScan compression"),
        32908 | 32909 => Some("Pixar compression"),
        34676 | 34677 => Some("SGI LogLuv compression"),
        34712 | 34713 => Some("JPEG 2000 compression"),
        34887 => Some("LERC compression"),
        34925 => Some("LZMA compression"),
        50000 => Some("Zstandard compression"),
        50001 => Some("WebP compression"),
        50002 | 52546 => Some("JPEG XL compression"),
        _ => return unsupported(format!("compression {compression}")),
    };
    if let Some(name) = name {
        return unsupported(name.into());
    }
    match formats.iter().find(|&&f| f != 1) {
        None => {}
        Some(2) => return unsupported("signed integer samples".into()),
        Some(3) => return unsupported("floating-point samples".into()),
        Some(f) => return unsupported(format!("sample format {f}")),
    }
    let p = match (ifd.photometric, ifd.has_photometric) {
        (Some(f), _) => f.value,
        (None, true) => {
            return Err(ImageError::Invalid(
                "cannot decode: TIFF PhotometricInterpretation is not one SHORT or LONG value"
                    .into(),
            ))
        }
        (None, false) => u64::from(default_photometric(ifd).ok_or_else(|| {
            ImageError::Invalid(format!(
                "cannot decode: TIFF without a PhotometricInterpretation tag, with {} samples \
                 per pixel and {} extra (libtiff guesses one only for 1 or 3 colour samples)",
                ifd.samples(),
                ifd.extra_samples
            ))
        })?),
    };
    let name = match p {
        0..=3 | 5 | 6 | 8 | 9 => None,
        4 => Some("a transparency mask only (photometric 4)".into()),
        10 => Some("ITU L*a*b* colour (photometric 10)".into()),
        32803 => Some("a colour filter array (raw sensor data)".into()),
        32844 | 32845 => Some("SGI LogL/LogLuv colour".into()),
        34892 => Some("linear raw (DNG) data".into()),
        _ => Some(format!("photometric interpretation {p}")),
    };
    match name {
        Some(name) => unsupported(name),
        None => Ok((compression as u16, p as u16)),
    }
}

/// libtiff's guess for a page without PhotometricInterpretation (`TIFFRGBAImageOK` and
/// `TIFFRGBAImageBegin` in tif_getimage.c; TIFF 6.0 has no default): by the colour samples
/// (SamplesPerPixel less ExtraSamples), one is BlackIsZero gray (WhiteIsZero under CCITT
/// compression, 2, 3, 4 or 32771), three are RGB; `None` for other counts (libtiff refuses
/// those too). For three, libtiff's directory reader gets there first: it takes the missing
/// tag as WhiteIsZero (0) and samples 2 and 3 as extra samples, so libtiff-based viewers show
/// the first sample as gray (and Pillow refuses the file); RGB is what the guess means.
pub(super) fn default_photometric(ifd: &Ifd) -> Option<u16> {
    use photometric::*;
    match ifd.samples().checked_sub(ifd.extra_samples)? {
        1 if matches!(ifd.compression, Some(2 | 3 | 4 | 32771)) => Some(WHITE_IS_ZERO),
        1 => Some(BLACK_IS_ZERO),
        3 => Some(RGB),
        _ => None,
    }
}

/// The photometric interpretation the `tiff` crate is shown for `real` (`repair.rs` patches
/// or adds it): WhiteIsZero and palette as BlackIsZero, CIELab and ICCLab as RGB, so that it
/// hands over the samples as stored (it refuses palette and Lab, and would invert WhiteIsZero
/// where our own reading of uncompressed strips would not); `Samples` keeps the real one.
pub(super) fn shown(real: u16) -> u16 {
    use photometric::*;
    match real {
        WHITE_IS_ZERO | PALETTE => BLACK_IS_ZERO,
        CIELAB | ICCLAB => RGB,
        p => p,
    }
}

/// How a warning names a photometric interpretation.
pub(super) fn photometric_long_name(p: u16) -> &'static str {
    match p {
        photometric::WHITE_IS_ZERO => "WhiteIsZero gray",
        photometric::BLACK_IS_ZERO => "BlackIsZero gray",
        _ => "RGB",
    }
}

fn unsupported(what: String) -> ImageError {
    ImageError::Unsupported(format!("TIFF with {what}"))
}

fn tag_u16(t: &mut Tiff<'_>, tag: Tag) -> Result<Option<u16>, ImageError> {
    t.find_tag_unsigned::<u16>(tag).map_err(tiff_error)
}

/// RATIONAL values of a tag, as numbers (`None` when absent or not rational).
fn rationals(t: &mut Tiff<'_>, tag: Tag) -> Result<Option<Vec<f32>>, ImageError> {
    let one = |v: &Value| match *v {
        Value::Rational(n, d) if d != 0 => Some(n as f32 / d as f32),
        Value::SRational(n, d) if d != 0 => Some(n as f32 / d as f32),
        Value::Unsigned(n) => Some(n as f32),
        Value::Short(n) => Some(f32::from(n)),
        _ => None,
    };
    Ok(match t.find_tag(tag).map_err(tiff_error)? {
        Some(Value::List(list)) => list.iter().map(one).collect(),
        Some(v) => one(&v).map(|x| vec![x]),
        None => None,
    })
}

/// Reads what the samples are from the chosen page's tags (`photometric` and `compression` as
/// `check_coding` found them), refusing what we do not decode with `Unsupported` naming it.
pub(super) fn read(
    t: &mut Tiff<'_>,
    photometric: u16,
    compression: u16,
) -> Result<Samples, ImageError> {
    let (stored, bits, colour_samples, alpha) = layout(t, photometric)?;
    let colour = colour(t, photometric, compression, bits)?;
    let supported_bits = match colour {
        Colour::Gray { .. } | Colour::Palette(_) if alpha.is_none() => {
            matches!(bits, 1..=8 | 16)
        }
        _ => matches!(bits, 8 | 16),
    };
    if !supported_bits {
        return Err(unsupported(format!(
            "{bits}-bit samples ({})",
            photometric_name(photometric)
        )));
    }
    let predictor = match tag_u16(t, Tag::Predictor)?.unwrap_or(1) {
        1 => false,
        2 if bits >= 8 => true,
        p => return Err(unsupported(format!("predictor {p} on {bits}-bit samples"))),
    };
    let planar = tag_u16(t, Tag::PlanarConfiguration)?.unwrap_or(1) == 2 && stored > 1;
    let coding_fits = match compression {
        compression::CCITT_G4 => bits == 1 && stored == 1,
        compression::JPEG => bits == 8,
        _ => true,
    };
    if !coding_fits {
        return Err(ImageError::Invalid(format!(
            "cannot decode: TIFF compression {compression} with {stored} samples of {bits} bits"
        )));
    }
    Ok(Samples {
        colour,
        bits: bits as u8,
        colour_samples,
        alpha,
        stored,
        planar,
        compression,
        predictor,
    })
}

/// Samples per pixel as stored, bits per sample, colour samples and alpha (the sample format
/// was checked by `check_coding`).
fn layout(
    t: &mut Tiff<'_>,
    photometric: u16,
) -> Result<(u16, u16, u16, Option<Alpha>), ImageError> {
    use photometric::*;
    let stored = tag_u16(t, Tag::SamplesPerPixel)?.unwrap_or(1).max(1);
    let bits = t
        .find_tag_unsigned_vec::<u16>(Tag::BitsPerSample)
        .map_err(tiff_error)?
        .and_then(|b| b.first().copied())
        .unwrap_or(1);
    let colour_samples: u16 = match photometric {
        WHITE_IS_ZERO | BLACK_IS_ZERO | PALETTE => 1,
        CMYK => 4,
        _ => 3,
    };
    if stored < colour_samples {
        return Err(ImageError::Invalid(format!(
            "cannot decode: TIFF with {stored} samples per pixel for photometric {photometric}"
        )));
    }
    let extra = t
        .find_tag_unsigned_vec::<u16>(Tag::ExtraSamples)
        .map_err(tiff_error)?
        .unwrap_or_default();
    let alpha = match (extra.first(), stored > colour_samples) {
        (_, false) => None,
        (Some(1), true) => Some(Alpha::Premultiplied),
        (Some(2), true) => Some(Alpha::Straight),
        // libtiff and the `tiff` crate take a fourth RGB sample without ExtraSamples as alpha.
        (None, true) if photometric == RGB && stored == 4 => Some(Alpha::Straight),
        _ => None,
    };
    Ok((stored, bits, colour_samples, alpha))
}

fn photometric_name(p: u16) -> &'static str {
    match p {
        photometric::WHITE_IS_ZERO | photometric::BLACK_IS_ZERO => "gray",
        photometric::PALETTE => "palette",
        photometric::CMYK => "CMYK",
        photometric::YCBCR => "YCbCr",
        photometric::CIELAB | photometric::ICCLAB => "L*a*b*",
        _ => "RGB",
    }
}

fn colour(
    t: &mut Tiff<'_>,
    photometric: u16,
    compression: u16,
    bits: u16,
) -> Result<Colour, ImageError> {
    use photometric::*;
    Ok(match photometric {
        WHITE_IS_ZERO | BLACK_IS_ZERO => Colour::Gray {
            white_is_zero: photometric == WHITE_IS_ZERO,
        },
        PALETTE => Colour::Palette(palette(t, bits)?),
        CMYK => match tag_u16(t, Tag::Unknown(332))?.unwrap_or(1) {
            1 => Colour::Cmyk,
            _ => return Err(unsupported("inks other than CMYK (InkSet 2)".into())),
        },
        YCBCR => ycbcr(t, compression)?,
        CIELAB | ICCLAB => Colour::Lab {
            icc: photometric == ICCLAB,
        },
        _ => Colour::Rgb,
    })
}

/// The ColorMap (TIFF 6.0 section 5: all reds, then greens, then blues, 16 bits each) as 8-bit
/// RGB. A map whose every value is under 256 was written with 8-bit values; libtiff (and so
/// every viewer built on it) reads it so, and so do we.
fn palette(t: &mut Tiff<'_>, bits: u16) -> Result<Vec<[u8; 3]>, ImageError> {
    if !matches!(bits, 1..=8) {
        return Err(unsupported(format!("a {bits}-bit palette")));
    }
    let n = 1usize << bits;
    let map = t
        .find_tag_unsigned_vec::<u16>(Tag::ColorMap)
        .map_err(tiff_error)?
        .filter(|m| m.len() >= 3 * n)
        .ok_or_else(|| {
            ImageError::Invalid(format!(
                "cannot decode: TIFF palette image without a ColorMap of {} entries",
                3 * n
            ))
        })?;
    let eight_bit = map.iter().all(|&v| v < 256);
    let level = |v: u16| match eight_bit {
        true => v as u8,
        false => ((u32::from(v) + 128) / 257) as u8,
    };
    Ok((0..n)
        .map(|i| [level(map[i]), level(map[n + i]), level(map[2 * n + i])])
        .collect())
}

/// Y′CbCr: JPEG-compressed data converts as JFIF; other data by its tags (TIFF 6.0 section
/// 21: YCbCrCoefficients default 0.299/0.587/0.114, ReferenceBlackWhite default
/// 0 255 128 255 128 255). Chroma subsampling is the JPEG decoder's to undo; uncompressed
/// subsampled data is refused.
fn ycbcr(t: &mut Tiff<'_>, compression: u16) -> Result<Colour, ImageError> {
    let jfif = Colour::YCbCr {
        jpeg: true,
        luma: [0.299, 0.587, 0.114],
        reference: [0.0, 255.0, 128.0, 255.0, 128.0, 255.0],
    };
    if compression == compression::JPEG {
        return Ok(jfif);
    }
    let sub = t
        .find_tag_unsigned_vec::<u16>(Tag::ChromaSubsampling)
        .map_err(tiff_error)?
        .unwrap_or_else(|| vec![2, 2]);
    if sub != [1, 1] {
        return Err(unsupported(format!(
            "Y′CbCr chroma subsampling {sub:?} without JPEG compression"
        )));
    }
    let Colour::YCbCr {
        mut luma,
        mut reference,
        ..
    } = jfif
    else {
        unreachable!("built above")
    };
    if let Some([kr, _, kb]) = rationals(t, Tag::Unknown(529))?.as_deref() {
        luma = [*kr, 1.0 - kr - kb, *kb];
    }
    if let Some(r) = rationals(t, Tag::Unknown(532))?.filter(|r| r.len() == 6) {
        reference.copy_from_slice(&r);
    }
    Ok(Colour::YCbCr {
        jpeg: false,
        luma,
        reference,
    })
}
