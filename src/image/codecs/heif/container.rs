//! The HEIF container (ISO/IEC 23008-12; HEIC, HEIF and AVIF alike), read by heic-rs's parser
//! before any pixel is decoded: the brands, the primary image (one coded picture or a `grid`
//! of them), its transformations and colour, its alpha image, and what else the file holds
//! (thumbnails, gain maps, burst frames, an image sequence's track).

use heic_rs::context::Context;
use heic_rs::ftyp::{Brand, FileType};
use heic_rs::meta::iref::RefKind;
use heic_rs::props::{ItemProps, Transform};
use heic_rs::Nclx;

use super::{av1, from_heic_rs, hevc, scan, Config, Kind};
use crate::image::ImageError;

/// How the coded pictures are coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Codec {
    /// `hvc1`: HEVC, decoded by heic-rs.
    Hevc,
    /// `av01`: AV1, decoded by rav1d.
    Av1,
}

/// An image as coded: `rows` × `columns` pictures of `tile` size each (one for a single coded
/// picture), composed and cut to `width` × `height`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Layout {
    pub width: u32,
    pub height: u32,
    pub rows: u32,
    pub columns: u32,
    /// Declared size of every tile (`ispe`), pixels.
    pub tile: (u32, u32),
    /// Item ids of the pictures, row by row.
    pub tiles: Vec<u32>,
}

/// An alpha image (`auxl` with an alpha `auxC`) of the primary image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Alpha {
    pub layout: Layout,
    /// The colour is premultiplied by it (`prem` reference).
    pub premultiplied: bool,
    /// Its samples use the limited range (16–235 at 8 bits), per its bitstream.
    pub limited_range: bool,
}

/// The file, parsed as far as its container and the first picture's parameter sets.
pub(super) struct Container<'a> {
    pub ctx: Context<'a>,
    pub kind: Kind,
    pub codec: Codec,
    pub image: Layout,
    pub alpha: Option<Alpha>,
    /// `clap`, `irot`, `imir` in `ipma` order.
    pub transforms: Vec<Transform>,
    /// `colr prof`/`rICC` of the primary, else of its first tile (as libheif takes it).
    pub icc: Option<&'a [u8]>,
    /// The colour description the pixels are converted with: `colr nclx` of the primary,
    /// else of its first tile, else what the first picture's bitstream signals.
    pub nclx: Nclx,
    /// `nclx` is a `colr` box (not only the bitstream's signalling).
    pub nclx_stated: bool,
    /// The first picture's bit depth and chroma format.
    pub config: Config,
    /// The auxiliary type of an HDR gain map (or `tmap` for an ISO 21496-1 derivation).
    pub gain_map: Option<String>,
    /// Images in the file: the primary, other top-level images (burst frames, stereo
    /// views), or the samples of an image-sequence track, whichever is more.
    pub frames: u32,
}

/// Brands of HEVC-coded HEIF files (ISO/IEC 23008-12 Annex B): `image/heic`.
pub(super) const HEVC_BRANDS: [&[u8; 4]; 8] = [
    b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
];

/// Item properties the decoder acts on or may ignore; another one marked essential on the
/// primary image makes it undecodable (ISO/IEC 23008-12 9.3.1, as libheif refuses it).
const KNOWN_PROPERTIES: [&[u8; 4]; 13] = [
    b"hvcC", b"av1C", b"ispe", b"pixi", b"colr", b"irot", b"imir", b"clap", b"auxC", b"pasp",
    b"a1op", b"a1lx", b"lsel",
];

/// The brands of the `ftyp` box at the start of `bytes` (major first), if there is one.
pub(super) fn brands(bytes: &[u8]) -> Option<Vec<[u8; 4]>> {
    let size = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    if bytes.get(4..8)? != b"ftyp" || size < 16 || size > bytes.len().min(4096) {
        return None;
    }
    let body = &bytes[8..size];
    let major = std::iter::once(&body[..4]);
    let compatible = body[8..].chunks_exact(4);
    Some(
        major
            .chain(compatible)
            .filter_map(|b| b.try_into().ok())
            .collect(),
    )
}

/// What the brands say the file is: `None` when no HEIF brand is listed; for a file listing
/// only the generic `mif1`/`msf1`, the primary image's coding decides.
pub(super) fn kind(bytes: &[u8]) -> Option<Kind> {
    let brands = brands(bytes)?;
    let has = |b: &[u8; 4]| brands.iter().any(|x| x == b);
    if has(b"avif") || has(b"avis") {
        return Some(Kind::Avif);
    }
    if HEVC_BRANDS.iter().any(|b| has(b)) {
        return Some(Kind::Heic);
    }
    if !(has(b"mif1") || has(b"msf1")) {
        return None;
    }
    scan::check_counts(bytes).ok()?;
    let ctx = context(bytes).ok()?;
    match coded_type(&ctx, ctx.meta.primary).ok()? {
        Codec::Av1 => Some(Kind::Avif),
        Codec::Hevc => Some(Kind::Heif),
    }
}

/// heic-rs's `Context` for any HEIF brand: its `Context::open` refuses AVIF brands by name,
/// but its `meta` parser and everything after it are codec-neutral.
fn context(bytes: &[u8]) -> Result<Context<'_>, ImageError> {
    let meta = heic_rs::meta::parse(bytes).map_err(from_heic_rs)?;
    let ftyp = FileType {
        major: Brand::Mif1,
        effective: Brand::Mif1,
        minor_version: 0,
        compatible_count: 0,
    };
    Ok(Context {
        file: bytes,
        ftyp,
        meta,
    })
}

fn fourcc(t: &[u8; 4]) -> String {
    String::from_utf8_lossy(t).into_owned()
}

/// The coding of item `id`, or of the first tile of a `grid`.
fn coded_type(ctx: &Context<'_>, id: u32) -> Result<Codec, ImageError> {
    let info = ctx
        .meta
        .item(id)
        .ok_or(from_heic_rs(heic_rs::Error::MissingItem(id)))?;
    let t = match &info.item_type {
        b"grid" => {
            let first = heic_rs::grid::tile_ids(&ctx.meta.refs, id).first().copied();
            let first = first.and_then(|t| ctx.meta.item(t));
            first.map_or(*b"none", |i| i.item_type)
        }
        b"iovl" => {
            return Err(ImageError::Unsupported(
                "HEIF overlay image (iovl derivation)".into(),
            ))
        }
        t => *t,
    };
    match &t {
        b"hvc1" | b"hev1" => Ok(Codec::Hevc),
        b"av01" => Ok(Codec::Av1),
        b"none" => Err(ImageError::Invalid("HEIF grid without tiles".into())),
        other => Err(ImageError::Unsupported(format!(
            "HEIF image of type `{}`",
            fourcc(other)
        ))),
    }
}

/// Parses the container and describes the primary image, refusing what cannot be decoded
/// before any pixel is: over `max_pixels` (`TooLarge`), an unknown coding, an overlay, an
/// unknown essential property, HEVC 4:2:2/4:4:4 (`Unsupported`), inconsistent tiles or sizes
/// (`Invalid`).
pub(super) fn open(bytes: &[u8], max_pixels: u64) -> Result<Container<'_>, ImageError> {
    scan::check_counts(bytes)?;
    let ctx = context(bytes)?;
    let id = ctx.meta.primary;
    let codec = coded_type(&ctx, id)?;
    let props = ctx.props(id).map_err(from_heic_rs)?;
    refuse_unknown_essential(&ctx, id)?;
    let image = layout(&ctx, id, &props, codec, max_pixels)?;
    let first = image.tiles[0];
    let config = match codec {
        Codec::Hevc => hevc::config(&ctx, first, image.tile)?,
        Codec::Av1 => av1::config(&ctx, first)?,
    };
    refuse_unsited_tiles(&image, config.chroma)?;
    let tile_props = ctx.props(first).map_err(from_heic_rs)?;
    let kind = match codec {
        Codec::Av1 => Kind::Avif,
        Codec::Hevc
            if brands(bytes).is_some_and(|b| b.iter().any(|x| HEVC_BRANDS.contains(&x))) =>
        {
            Kind::Heic
        }
        Codec::Hevc => Kind::Heif,
    };
    let alpha = alpha(&ctx, id, codec, &image, max_pixels)?;
    Ok(Container {
        icc: props.icc.or(tile_props.icc),
        nclx: props.nclx.or(tile_props.nclx).unwrap_or(config.signalled),
        nclx_stated: props.nclx.or(tile_props.nclx).is_some(),
        transforms: props.transforms.clone(),
        gain_map: gain_map(&ctx, id),
        frames: frames(&ctx, bytes, id)?,
        ctx,
        kind,
        codec,
        image,
        alpha,
        config,
    })
}

/// Refuses a grid whose tiles would not start on a chroma sample (an odd tile width or height
/// where chroma is subsampled that way): they cannot be composed without resampling.
fn refuse_unsited_tiles(l: &Layout, chroma: heic_rs::ChromaFormat) -> Result<(), ImageError> {
    let odd_w = l.columns > 1 && chroma.x_shift() == 1 && l.tile.0 % 2 == 1;
    let odd_h = l.rows > 1 && chroma.y_shift() == 1 && l.tile.1 % 2 == 1;
    if odd_w || odd_h {
        return Err(ImageError::Unsupported(format!(
            "HEIF grid of {}x{} tiles subsampled across their seams",
            l.tile.0, l.tile.1
        )));
    }
    Ok(())
}

fn refuse_unknown_essential(ctx: &Context<'_>, id: u32) -> Result<(), ImageError> {
    for a in ctx.meta.props.associations(id) {
        let Some(b) = ctx.meta.props.resolve(*a) else {
            continue;
        };
        if a.essential && !KNOWN_PROPERTIES.contains(&&b.boxtype) {
            return Err(ImageError::Unsupported(format!(
                "HEIF image with the essential property `{}`",
                fourcc(&b.boxtype)
            )));
        }
    }
    Ok(())
}

/// The layout of item `id` (a grid or one picture), every tile of the same coding and
/// declared size, and the whole within `max_pixels`.
fn layout(
    ctx: &Context<'_>,
    id: u32,
    props: &ItemProps<'_>,
    codec: Codec,
    max_pixels: u64,
) -> Result<Layout, ImageError> {
    let size = |p: &ItemProps<'_>, what: &str| {
        p.ispe
            .map(|i| (i.width, i.height))
            .ok_or_else(|| ImageError::Invalid(format!("HEIF {what} without its size (ispe)")))
    };
    refuse_many_tiles(ctx, id)?;
    let Some((grid, tiles)) = ctx.grid(id).map_err(from_heic_rs)? else {
        let (width, height) = size(props, "image")?;
        check_pixels(width, height, max_pixels)?;
        return Ok(Layout {
            width,
            height,
            rows: 1,
            columns: 1,
            tile: (width, height),
            tiles: vec![id],
        });
    };
    check_pixels(grid.output_width, grid.output_height, max_pixels)?;
    let tile = size(&ctx.props(tiles[0]).map_err(from_heic_rs)?, "tile")?;
    check_pixels(tile.0, tile.1, max_pixels)?;
    for &t in &tiles {
        if coded_type(ctx, t)? != codec
            || size(&ctx.props(t).map_err(from_heic_rs)?, "tile")? != tile
        {
            return Err(ImageError::Invalid(
                "HEIF grid tiles differ in coding or size".into(),
            ));
        }
    }
    let covers = |n: u32, t: u32, out: u32| {
        let n = u64::from(n);
        n * u64::from(t) >= u64::from(out) && (n - 1) * u64::from(t) < u64::from(out)
    };
    if !covers(grid.columns, tile.0, grid.output_width)
        || !covers(grid.rows, tile.1, grid.output_height)
    {
        return Err(ImageError::Invalid(format!(
            "HEIF grid of {}x{} tiles of {}x{} does not make {}x{}",
            grid.columns, grid.rows, tile.0, tile.1, grid.output_width, grid.output_height
        )));
    }
    Ok(Layout {
        width: grid.output_width,
        height: grid.output_height,
        rows: grid.rows,
        columns: grid.columns,
        tile,
        tiles,
    })
}

/// Refuses a `grid` of more than `scan::MAX_ITEMS` tiles before heic-rs walks them (it looks
/// each one up by linear search; a `dimg` list may name one item 65536 times).
fn refuse_many_tiles(ctx: &Context<'_>, id: u32) -> Result<(), ImageError> {
    if ctx.meta.item(id).is_none_or(|i| !i.is_grid()) {
        return Ok(());
    }
    let data = ctx.item_data(id).map_err(from_heic_rs)?;
    let grid = heic_rs::grid::parse(&data).map_err(from_heic_rs)?;
    let n = grid.tile_count();
    if n > scan::MAX_ITEMS {
        return Err(ImageError::Invalid(format!(
            "HEIF grid of {n} tiles, over the {} allowed",
            scan::MAX_ITEMS
        )));
    }
    Ok(())
}

/// `MAX_INPUT_PIXELS` (PRODUCT.md "Memory envelope"), from the declared size.
pub(super) fn check_pixels(w: u32, h: u32, max_pixels: u64) -> Result<(), ImageError> {
    let pixels = u64::from(w) * u64::from(h);
    if pixels > max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{w}x{h} is {pixels} pixels, over MAX_INPUT_PIXELS ({max_pixels})"
        )));
    }
    if pixels == 0 {
        return Err(ImageError::Invalid(format!(
            "image has no pixels ({w}x{h})"
        )));
    }
    Ok(())
}

/// The alpha image of `id`, coded like it and of its size.
fn alpha(
    ctx: &Context<'_>,
    id: u32,
    codec: Codec,
    image: &Layout,
    max_pixels: u64,
) -> Result<Option<Alpha>, ImageError> {
    let Some(aux) = ctx.alpha_item(id).map_err(from_heic_rs)? else {
        return Ok(None);
    };
    if coded_type(ctx, aux)? != codec {
        return Err(ImageError::Unsupported(
            "HEIF alpha image coded differently from its image".into(),
        ));
    }
    let props = ctx.props(aux).map_err(from_heic_rs)?;
    let layout = layout(ctx, aux, &props, codec, max_pixels)?;
    if (layout.width, layout.height) != (image.width, image.height) {
        return Err(ImageError::Unsupported(format!(
            "HEIF alpha image of {}x{} for an image of {}x{}",
            layout.width, layout.height, image.width, image.height
        )));
    }
    let config = match codec {
        Codec::Hevc => hevc::config(ctx, layout.tiles[0], layout.tile)?,
        // AV1 says its range in every sequence header; libavif stretches limited-range alpha.
        Codec::Av1 => av1::config(ctx, layout.tiles[0])?,
    };
    let prem = RefKind::Other(*b"prem");
    let premultiplied = ctx
        .meta
        .refs
        .iter()
        .any(|r| r.kind == prem && r.from == id && r.to.contains(&aux));
    Ok(Some(Alpha {
        layout,
        premultiplied,
        // An HEVC alpha item without a VUI infers limited range (H.265 E.3.1), yet libheif
        // and every HEIC writer treat its samples as full range: only AV1's is trusted.
        limited_range: codec == Codec::Av1 && config.signalled.range == heic_rs::Range::Limited,
    }))
}

/// The auxiliary type of an HDR gain map of `id` (Apple's and Samsung's `…:hdrgainmap`), or
/// `tmap` when the file derives a tone-mapped image from it (ISO 21496-1).
fn gain_map(ctx: &Context<'_>, id: u32) -> Option<String> {
    let aux = ctx
        .meta
        .refs
        .iter()
        .filter(|r| r.kind == RefKind::Auxl && r.to.contains(&id));
    for r in aux {
        let props = ctx.props(r.from).ok()?;
        if let Some(urn) = props.auxc.map(|a| a.urn).filter(|u| u.contains("gainmap")) {
            return Some(urn.to_string());
        }
    }
    let tmap = ctx.meta.items.iter().any(|i| &i.item_type == b"tmap");
    tmap.then(|| "tmap".to_string())
}

/// Images a viewer could show: the primary and the other top-level coded or derived images
/// (not tiles, thumbnails, auxiliary or hidden items), or the samples of the file's image
/// sequence track if that is more.
fn frames(ctx: &Context<'_>, bytes: &[u8], id: u32) -> Result<u32, ImageError> {
    use std::collections::HashSet;
    let mut below: HashSet<u32> = HashSet::new();
    for r in &ctx.meta.refs {
        match r.kind {
            RefKind::Dimg => below.extend(&r.to),
            RefKind::Thmb | RefKind::Auxl => {
                below.insert(r.from);
            }
            _ => {}
        }
    }
    let shown = ctx
        .meta
        .items
        .iter()
        .filter(|i| i.id == id || !(i.hidden || below.contains(&i.id)))
        .filter(|i| {
            matches!(
                &i.item_type,
                b"hvc1" | b"hev1" | b"av01" | b"grid" | b"iovl"
            )
        })
        .count() as u64;
    let track = scan::track_samples(bytes)?.unwrap_or(0);
    Ok(u32::try_from(shown.max(track).max(1)).unwrap_or(u32::MAX))
}
