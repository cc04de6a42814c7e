//! libjpeg's error manager, as the decoders and encoders here use it: fatal errors unwind
//! (the `mozjpeg` crate's design) and come back as errors through `guard`; messages are tallied
//! per thread: the scans read (stopping past `MAX_SCANS`), damaged-data warnings, and the junk
//! libjpeg skipped at the end of scans' data.

// libjpeg's C API through mozjpeg-sys (each use has its SAFETY note).
#![allow(unsafe_code)]

use std::os::raw::c_int;

use mozjpeg_sys::jpeg_common_struct;

use crate::image::error::ImageError;

/// The most scans a JPEG may have (SOS markers, progressive or not). Each scan of a
/// progressive file is a pass over the coefficients of the components it covers, however few
/// bytes it has: 100,001 scans of a 12 MP photo (2.6 MB) held the machine for 74 s. Encoders
/// write 1 to about 20 (libjpeg's progressive script 10, or 6 for gray; the most in the corpora
/// here is 11). libjpeg-turbo's `-maxscans` / `TJPARAM_SCANLIMIT` is the model (its fuzzers use
/// 500). Measured at `MAX_INPUT_PIXELS` (16383 × 16383, 4:2:0, `bench/floods.py`), an added
/// scan costs about 13 ms (20–30 ms while other builds ran): the file's own 10 scans decode in
/// 0.9 s, 100 scans in 2.1 s, 500 would take 7.5 s. So 100: five times what encoders write,
/// and seconds at the pixel limit.
pub(in crate::image) const MAX_SCANS: u32 = 100;

/// What libjpeg's messages said about the decode running on this thread (its error manager's
/// `emit_message`, which sees every trace message too).
#[derive(Debug, Default, Clone)]
pub(super) struct Tally {
    /// The first damaged-data warning.
    pub(super) damage: Option<c_int>,
    /// SOS markers read so far (libjpeg's `JTRC_SOS` trace): past `MAX_SCANS`, the decode
    /// stops.
    pub(super) scans: u32,
    /// The last marker libjpeg read is an SOS: bytes it skips now end that scan's data.
    in_scan: bool,
    /// Bytes libjpeg skipped at the end of a scan's entropy-coded data (scan number from 1,
    /// bytes): `markers::trim_scan_junk` takes them out of the `original`.
    pub(super) scan_junk: Vec<(u32, u32)>,
}

/// Scan ends with junk recorded at most (`Tally::scan_junk`); a file needs one per scan.
const MAX_SCAN_JUNK: usize = MAX_SCANS as usize;

thread_local! {
    /// The tally of the decode running on this thread.
    pub(super) static TALLY: std::cell::RefCell<Tally> = std::cell::RefCell::new(Tally::default());
}

pub(super) fn error_mgr() -> mozjpeg_sys::jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of a zeroed struct (plain C data).
    let mut err: mozjpeg_sys::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(fatal);
    err.emit_message = Some(message);
    err
}

/// An encoder's error manager: `error_mgr`'s, and the hook that spares mozjpeg's unused copy
/// of the coefficients (`coefficients`).
pub(super) fn encoder_error_mgr() -> mozjpeg_sys::jpeg_error_mgr {
    let mut err = error_mgr();
    err.reset_error_mgr = Some(super::coefficients::reset_error_mgr);
    err
}

fn text(cinfo: &mut jpeg_common_struct) -> String {
    let mut buffer = [0u8; 80];
    // SAFETY: the error manager is the one `error_mgr` made; format_message writes at most
    // JMSG_LENGTH_MAX (80) bytes, NUL-terminated. The binding declares the buffer `&[u8; 80]`
    // though C writes into it, hence the pointer.
    unsafe {
        let err = &*cinfo.err;
        if let Some(format) = err.format_message {
            let format: unsafe extern "C-unwind" fn(&mut jpeg_common_struct, *mut [u8; 80]) =
                std::mem::transmute(format);
            format(cinfo, &mut buffer);
        }
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

extern "C-unwind" fn fatal(cinfo: &mut jpeg_common_struct) {
    // resume_unwind, not panic!: no panic hook, no "internal error" report for a bad file.
    std::panic::resume_unwind(Box::new(format!("libjpeg: {}", text(cinfo))));
}

/// libjpeg's messages: trace messages count the scans (and stop the decode past
/// `MAX_SCANS`, as TurboJPEG's scan limit does) and tell where a scan's data ends; warnings
/// that mean damaged data are kept (`Tally`).
extern "C-unwind" fn message(cinfo: &mut jpeg_common_struct, level: c_int) {
    use mozjpeg_sys as j;
    // SAFETY: cinfo.err points at the manager of this decode; msg_parm holds plain integers.
    let (code, parm) = unsafe {
        let err = &mut *cinfo.err;
        (err.msg_code, *err.msg_parm.i())
    };
    let over = TALLY.with(|t| {
        let mut t = t.borrow_mut();
        if level >= 0 {
            match code {
                j::JTRC_SOS => {
                    t.scans += 1;
                    t.in_scan = true;
                }
                j::JTRC_SOS_COMPONENT | j::JTRC_SOS_PARAMS | j::JTRC_RST => {}
                _ => t.in_scan = false,
            }
            return t.scans > MAX_SCANS;
        }
        let damaged = [
            j::JWRN_BOGUS_PROGRESSION,
            j::JWRN_HIT_MARKER,
            j::JWRN_HUFF_BAD_CODE,
            j::JWRN_JPEG_EOF,
            j::JWRN_MUST_RESYNC,
            j::JWRN_NOT_SEQUENTIAL,
        ];
        if damaged.contains(&code) && t.damage.is_none() {
            t.damage = Some(code);
        }
        let restart = (0xD0..=0xD7).contains(&parm[1]);
        if code == j::JWRN_EXTRANEOUS_DATA && t.in_scan && !restart {
            if t.scan_junk.len() < MAX_SCAN_JUNK {
                let (scan, bytes) = (t.scans, u32::try_from(parm[0]).unwrap_or(0));
                t.scan_junk.push((scan, bytes));
            }
            t.in_scan = false;
        }
        false
    });
    if over {
        std::panic::resume_unwind(Box::new(too_many_scans(None)));
    }
}

/// The refusal of a JPEG with more than `MAX_SCANS` scans: `scans` of them (the marker walk
/// counts them all), or at least one more (libjpeg stops at the first).
pub(super) fn too_many_scans(scans: Option<u32>) -> String {
    let count = scans.map_or_else(|| format!("more than {MAX_SCANS}"), |n| n.to_string());
    format!(
        "too many scans: the JPEG has {count}, at most {MAX_SCANS} are decoded (encoders write \
         up to about 20)"
    )
}

/// Runs libjpeg code, turning its unwinding fatal errors into `err(message)`.
pub(super) fn guard<T>(
    err: fn(String) -> ImageError,
    f: impl FnOnce() -> Result<T, ImageError>,
) -> Result<T, ImageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let m = payload
            .downcast::<String>()
            .map_or_else(|_| "libjpeg failed".into(), |m| *m);
        Err(err(m))
    })
}

pub(super) fn warning_text(code: c_int) -> &'static str {
    use mozjpeg_sys as j;
    match code {
        j::JWRN_JPEG_EOF => "premature end of file",
        j::JWRN_HIT_MARKER => "premature end of data segment",
        j::JWRN_HUFF_BAD_CODE => "bad Huffman code",
        j::JWRN_MUST_RESYNC => "lost sync in the entropy-coded data",
        j::JWRN_BOGUS_PROGRESSION => "inconsistent progression sequence",
        _ => "invalid scan parameters",
    }
}
