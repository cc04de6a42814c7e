//! CMYK JPEGs. Photoshop's files carry an Adobe APP14 segment and store their channels
//! inverted; plain CMYK files do not. Reading every CMYK file as inverted (as zune-jpeg does)
//! turns a plain one black, so the segment decides.

/// Whether the JPEG's frame has 4 components and no Adobe APP14 segment says they are inverted.
pub fn is_plain_cmyk(b: &[u8]) -> bool {
    let mut adobe = false;
    let mut i = 2;
    while i + 4 <= b.len() && b[i] == 0xFF {
        let marker = b[i + 1];
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        let body = b.get(i + 4..i + 2 + len).unwrap_or_default();
        match marker {
            0xEE if body.starts_with(b"Adobe") => adobe = true,
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return body.get(5) == Some(&4) && !adobe;
            }
            0xDA => return false,
            _ => {}
        }
        i += 2 + len;
    }
    false
}

/// CMYK samples (as stored in the file) to RGB. Adobe's files store every channel inverted
/// (255 means no ink): R = C·K/255; plain files: R = (255 − C)(255 − K)/255.
pub fn to_rgb(cmyk: &[u8], adobe_inverted: bool) -> Vec<u8> {
    let flip = if adobe_inverted { 0 } else { 255 };
    cmyk.chunks_exact(4)
        .flat_map(|p| {
            let k = u32::from(p[3] ^ flip);
            let ch = |c: u8| (u32::from(c ^ flip) * k / 255) as u8;
            [ch(p[0]), ch(p[1]), ch(p[2])]
        })
        .collect()
}
