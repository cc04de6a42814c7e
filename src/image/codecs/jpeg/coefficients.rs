//! One whole-image coefficient buffer per encoder instead of two.
//!
//! With optimised Huffman tables (our setting, and sharp's) libjpeg's encoder keeps every
//! quantised DCT coefficient of the image (`whole_image`, 2 bytes per sample: 11 MB for a
//! 2560×1440 4:2:0 `large`), because the tables are built from statistics of the whole image
//! before anything is written. mozjpeg's coefficient controller (`jinit_c_coef_controller` in
//! its jccoefct.c) requests a second array of the same size per component, `whole_image_uq`:
//! the unquantised coefficients, which the first pass writes and only trellis quantisation
//! passes read. Our encoder runs without trellis quantisation (`JCP_FASTEST`, as libjpeg-turbo
//! encodes), so that array is written and never read: 11 MB of page faults and memory for
//! nothing, for every `large`.
//!
//! libjpeg lets its memory manager be replaced method by method (libjpeg.txt, "Memory
//! management"). [`reset_error_mgr`] — called by `jpeg_start_compress` just before the
//! encoder's modules are set up — installs three methods that hand each component's second
//! array a scratch buffer of one iMCU row instead: the first pass writes into it and nobody
//! reads it. The output is byte for byte the same (tests below, and the jpeg module's tests through
//! the encoder).
//!
//! The hook depends on how mozjpeg 2.x requests and uses the arrays: two per component, in
//! pairs of the same size, `whole_image` first; the second only written, row after row, by the
//! first pass. When the requests or the accesses do not come that way (another version), the
//! encode fails with an error instead of writing a wrong file; with trellis quantisation on,
//! the hook is not installed.

// libjpeg's memory manager through mozjpeg-sys: raw pointers from C (each use has its SAFETY
// note).
#![allow(unsafe_code)]

#[cfg(test)]
use std::cell::Cell;
use std::os::raw::c_void;

use mozjpeg_sys::{
    boolean, jpeg_c_get_bool_param, jpeg_common_struct, jpeg_compress_struct, jvirt_barray_control,
    JBLOCKARRAY, JDIMENSION, JPOOL_IMAGE, JPOOL_PERMANENT, J_BOOLEAN_PARAM,
};

/// libjpeg's limit on components in an image (jmorecfg.h).
const MAX_COMPONENTS: usize = 10;

type Request = unsafe extern "C-unwind" fn(
    &mut jpeg_common_struct,
    i32,
    boolean,
    JDIMENSION,
    JDIMENSION,
    JDIMENSION,
) -> *mut jvirt_barray_control;
type Realize = unsafe extern "C-unwind" fn(&mut jpeg_common_struct);
type Access = unsafe extern "C-unwind" fn(
    &mut jpeg_common_struct,
    *mut jvirt_barray_control,
    JDIMENSION,
    JDIMENSION,
    boolean,
) -> JBLOCKARRAY;

/// Per encoder, in its permanent pool (`cinfo.client_data` points at it).
struct Hooks {
    request: Request,
    realize: Realize,
    access: Access,
    /// Block arrays requested since `jpeg_start_compress`.
    requests: usize,
    /// The last `whole_image` request's (blocks per row, rows, rows accessed at once).
    last: (JDIMENSION, JDIMENSION, JDIMENSION),
    /// The scratch buffers handed out for `whole_image_uq`, by request.
    scratch: [*mut Scratch; MAX_COMPONENTS],
}

/// What a `whole_image_uq` "array" is here: one iMCU row of blocks, reused for every row.
struct Scratch {
    rows: JBLOCKARRAY,
    /// How many rows `rows` holds (the most accessed at once).
    max_access: JDIMENSION,
    /// The block row the next access must start at: the first pass writes the array top to
    /// bottom once (jccoefct.c, `compress_first_pass`); any other access means the array is
    /// read, or is not the one we took it for.
    next_row: JDIMENSION,
}

#[cfg(test)]
thread_local! {
    /// Bytes of `whole_image_uq` not allocated by encoders on this thread (for the tests).
    static SPARED: Cell<u64> = const { Cell::new(0) };
}

/// Bytes of unquantised coefficients not allocated by encoders on this thread so far.
#[cfg(test)]
pub(in crate::image) fn spared_bytes() -> u64 {
    SPARED.with(Cell::get)
}

/// The error manager's `reset_error_mgr` for encoders: resets the warning state as
/// `jpeg_std_error`'s does, then, for a compressor without trellis quantisation, hooks its
/// memory manager (see the module's documentation). A compressor that starts another image
/// is hooked afresh, or not at all if trellis quantisation was turned on in between.
///
/// # Safety
/// Called by libjpeg with its own `cinfo`, whose `err` is the manager this was installed in.
pub(in crate::image) unsafe extern "C-unwind" fn reset_error_mgr(cinfo: &mut jpeg_common_struct) {
    // SAFETY: `err` is the manager this function was installed in.
    unsafe {
        (*cinfo.err).num_warnings = 0;
        (*cinfo.err).msg_code = 0;
    }
    if cinfo.is_decompressor != 0 {
        return;
    }
    // SAFETY: the memory manager libjpeg made for this compressor, whose methods may be
    // replaced (libjpeg.txt); client_data is ours (the mozjpeg crate leaves it null). A
    // compressor starting another image is unhooked first, then hooked again if still wanted.
    unsafe {
        let hooks = cinfo.client_data.cast::<Hooks>();
        if !hooks.is_null() {
            let mem = &mut *cinfo.mem;
            mem.request_virt_barray = Some((*hooks).request);
            mem.realize_virt_arrays = Some((*hooks).realize);
            mem.access_virt_barray = Some((*hooks).access);
            cinfo.client_data = std::ptr::null_mut();
        }
    }
    // SAFETY: a compressor's common fields are the start of its jpeg_compress_struct
    // (libjpeg's j_common_ptr convention). The binding types the callback's argument as the
    // common fields only; the widened reference goes to C alone and ends before `cinfo` is
    // used again.
    let compress = unsafe { &*(cinfo as *const jpeg_common_struct as *const jpeg_compress_struct) };
    // SAFETY: a valid compressor.
    let trellis =
        unsafe { jpeg_c_get_bool_param(compress, J_BOOLEAN_PARAM::JBOOLEAN_TRELLIS_QUANT) };
    if trellis != 0 {
        return;
    }
    // SAFETY: as above; the Hooks live in the compressor's permanent pool.
    unsafe {
        let mem = &mut *cinfo.mem;
        let (Some(request), Some(realize), Some(access_original), Some(alloc)) = (
            mem.request_virt_barray,
            mem.realize_virt_arrays,
            mem.access_virt_barray,
            mem.alloc_small,
        ) else {
            return;
        };
        let hooks = alloc(cinfo, JPOOL_PERMANENT, std::mem::size_of::<Hooks>()).cast::<Hooks>();
        hooks.write(Hooks {
            request,
            realize,
            access: access_original,
            requests: 0,
            last: (0, 0, 0),
            scratch: [std::ptr::null_mut(); MAX_COMPONENTS],
        });
        cinfo.client_data = hooks.cast::<c_void>();
        let mem = &mut *cinfo.mem;
        mem.request_virt_barray = Some(request_barray);
        mem.realize_virt_arrays = Some(realize_arrays);
        mem.access_virt_barray = Some(access);
    }
}

/// Fails the encode (libjpeg's errors unwind; the caller's guard turns this into an error).
fn unexpected(what: &str) -> ! {
    std::panic::resume_unwind(Box::new(format!(
        "libjpeg: coefficient buffers requested {what}, not as mozjpeg 2 does"
    )))
}

/// `request_virt_barray`: even requests (`whole_image`) go to libjpeg; odd ones
/// (`whole_image_uq`, the same size as the request before) get a scratch row.
unsafe extern "C-unwind" fn request_barray(
    cinfo: &mut jpeg_common_struct,
    pool: i32,
    pre_zero: boolean,
    blocks_per_row: JDIMENSION,
    rows: JDIMENSION,
    max_access: JDIMENSION,
) -> *mut jvirt_barray_control {
    // SAFETY: installed with `Hooks` in client_data (`reset_error_mgr`).
    let hooks = unsafe { &mut *cinfo.client_data.cast::<Hooks>() };
    let n = hooks.requests;
    hooks.requests += 1;
    let size = (blocks_per_row, rows, max_access);
    if n % 2 == 0 {
        hooks.last = size;
        // SAFETY: libjpeg's own method, same arguments.
        return unsafe { (hooks.request)(cinfo, pool, pre_zero, blocks_per_row, rows, max_access) };
    }
    if size != hooks.last || pool != JPOOL_IMAGE || n / 2 >= MAX_COMPONENTS {
        unexpected("in another order");
    }
    // SAFETY: libjpeg's allocators for this compressor; the memory lives until the image's
    // pool is freed (jpeg_finish_compress or jpeg_abort), as a virtual array would.
    unsafe {
        let mem = &*cinfo.mem;
        let (Some(alloc_small), Some(alloc_barray)) = (mem.alloc_small, mem.alloc_barray) else {
            unexpected("without allocators");
        };
        let block_rows = alloc_barray(cinfo, JPOOL_IMAGE, blocks_per_row, max_access);
        let scratch = alloc_small(cinfo, JPOOL_IMAGE, std::mem::size_of::<Scratch>()).cast();
        std::ptr::write(
            scratch,
            Scratch {
                rows: block_rows,
                max_access,
                next_row: 0,
            },
        );
        let hooks = &mut *cinfo.client_data.cast::<Hooks>();
        hooks.scratch[n / 2] = scratch;
        #[cfg(test)]
        SPARED.with(|s| {
            let whole = u64::from(blocks_per_row) * u64::from(rows);
            s.set(s.get() + whole * std::mem::size_of::<mozjpeg_sys::JBLOCK>() as u64)
        });
        scratch.cast()
    }
}

/// `realize_virt_arrays`: checks that the arrays came in pairs, then lets libjpeg allocate
/// the `whole_image` ones.
unsafe extern "C-unwind" fn realize_arrays(cinfo: &mut jpeg_common_struct) {
    // SAFETY: as in `request_barray`.
    let hooks = unsafe { &*cinfo.client_data.cast::<Hooks>() };
    if hooks.requests % 2 != 0 {
        unexpected("unpaired");
    }
    // SAFETY: libjpeg's own method.
    unsafe { (hooks.realize)(cinfo) }
}

/// `access_virt_barray`: a scratch buffer's one row for a `whole_image_uq` (written in order,
/// never read: checked), libjpeg's method for every other array.
unsafe extern "C-unwind" fn access(
    cinfo: &mut jpeg_common_struct,
    array: *mut jvirt_barray_control,
    start_row: JDIMENSION,
    rows: JDIMENSION,
    writable: boolean,
) -> JBLOCKARRAY {
    // SAFETY: as in `request_barray`.
    let hooks = unsafe { &*cinfo.client_data.cast::<Hooks>() };
    let pairs = hooks.requests / 2;
    let scratch = array.cast::<Scratch>();
    if hooks.scratch[..pairs.min(MAX_COMPONENTS)].contains(&scratch) {
        // SAFETY: made by `request_barray` for this image; only this compressor's thread
        // touches it.
        let scratch = unsafe { &mut *scratch };
        if writable == 0 || start_row != scratch.next_row || rows > scratch.max_access {
            unexpected("read back, or out of order");
        }
        scratch.next_row += rows;
        return scratch.rows;
    }
    // SAFETY: libjpeg's own method on its own array.
    unsafe { (hooks.access)(cinfo, array, start_row, rows, writable) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::codecs::jpeg::{encode, encode_unhooked, encoder_error_manager};
    use image::{DynamicImage, RgbImage};

    fn busy(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            let n = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 7;
            image::Rgb([(x * 3 + n % 40) as u8, (y * 5) as u8, (n % 251) as u8])
        }))
    }

    /// Bytes of one whole-image array for a component `w`×`h` samples, sampled `h_samp` ×
    /// `v_samp` (jccoefct.c: blocks rounded up to the sampling factors).
    fn array_bytes(w: u32, h: u32, (h_samp, v_samp): (u32, u32)) -> u64 {
        let blocks_across = u64::from(w.div_ceil(8).next_multiple_of(h_samp));
        let blocks_down = u64::from(h.div_ceil(8).next_multiple_of(v_samp));
        blocks_across * blocks_down * 128
    }

    #[test]
    fn the_unquantised_copy_is_not_allocated_and_the_file_is_the_same() {
        // Sizes on and off the 16-pixel MCU grid, gray and 4:2:0 colour.
        for (w, h) in [(256, 256), (2401, 1603), (17, 9), (1, 1)] {
            let rgb = busy(w, h);
            for img in [DynamicImage::ImageLuma8(rgb.to_luma8()), rgb] {
                let before = spared_bytes();
                let got = encode(&img, 80, None).unwrap();
                let spared = spared_bytes() - before;
                let want = match img.color() {
                    image::ColorType::L8 => array_bytes(w, h, (1, 1)),
                    _ => {
                        let chroma = array_bytes(w.div_ceil(2), h.div_ceil(2), (1, 1));
                        array_bytes(w, h, (2, 2)) + 2 * chroma
                    }
                };
                assert_eq!(spared, want, "{w}x{h} {:?}", img.color());
                let reference = encode_unhooked(&img, 80);
                assert!(got == reference, "{w}x{h} {:?}: bytes differ", img.color());
            }
        }
    }

    /// `img` (RGB) through a compressor with the hook or without, set up by `settings` (after
    /// mozjpeg's defaults, before the size is set).
    fn encode_rgb(
        img: &DynamicImage,
        hooked: bool,
        settings: impl FnOnce(&mut mozjpeg::Compress),
    ) -> Vec<u8> {
        let err = Box::new(encoder_error_manager(hooked));
        let mut c = mozjpeg::Compress::new_err(err, mozjpeg::ColorSpace::JCS_RGB);
        settings(&mut c);
        c.set_size(img.width() as usize, img.height() as usize);
        let mut s = c.start_compress(Vec::new()).unwrap();
        s.write_scanlines(img.as_bytes()).unwrap();
        s.finish().unwrap()
    }

    /// A progressive encode (the same first pass, then one output pass per scan) gives the
    /// same file with the hook as without.
    #[test]
    fn a_progressive_encode_is_the_same_file() {
        let img = busy(333, 257);
        let encode = |hooked| {
            encode_rgb(&img, hooked, |c| {
                c.set_fastest_defaults();
                c.set_quality(80.0);
                c.set_progressive_mode();
                c.set_optimize_coding(true);
            })
        };
        let before = spared_bytes();
        let hooked = encode(true);
        assert!(spared_bytes() > before, "hooked");
        assert!(hooked == encode(false));
    }

    /// With trellis quantisation (mozjpeg's default profile) the unquantised coefficients are
    /// read again: the hook stays out and the file is libjpeg's own.
    #[test]
    fn with_trellis_quantisation_both_arrays_are_kept() {
        let img = busy(300, 200);
        let encode = |hooked| encode_rgb(&img, hooked, |c| c.set_quality(80.0));
        let before = spared_bytes();
        let hooked = encode(true);
        assert_eq!(spared_bytes(), before);
        assert!(hooked == encode(false));
    }
}
