//! CMYK JPEGs. Photoshop's files carry an Adobe APP14 segment and store their channels
//! inverted; plain CMYK files do not. Reading every CMYK file as inverted (as zune-jpeg does)
//! turns a plain one black, so the segment decides (read in `jpeg.rs`).

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
