//! HEIF's transformative properties (`clap`, `irot`, `imir`) in the order the item's `ipma`
//! lists them (ISO/IEC 23008-12 6.5.1), reduced to one crop of the coded image and one of the
//! eight turns and mirrors: any sequence of crops, quarter turns and mirrors equals "crop
//! once, then turn or mirror once". The decoder crops while it walks the coded image and
//! writes each displayed row from one coded row or column, so nothing is turned afterwards.

use heic_rs::props::Transform;
use heic_rs::{Mirror, Rotation};

use crate::image::ImageError;

/// A rectangle of the coded image, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// How a displayed pixel `(u, v)` maps to a pixel `(x, y)` of the cropped coded image:
/// `(x, y) = m · (u, v) + offset`, `m` a signed permutation matrix (row-major).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Orientation {
    m: [[i8; 2]; 2],
}

impl Orientation {
    pub const IDENTITY: Orientation = Orientation {
        m: [[1, 0], [0, 1]],
    };

    /// The EXIF orientation (1–8, TIFF tag 274) that displays the cropped coded image the same
    /// way: what the callback can report as the orientation the decoder applied.
    pub fn exif(self) -> u8 {
        match self.m {
            [[1, 0], [0, 1]] => 1,
            [[-1, 0], [0, 1]] => 2,
            [[-1, 0], [0, -1]] => 3,
            [[1, 0], [0, -1]] => 4,
            [[0, 1], [1, 0]] => 5,
            [[0, 1], [-1, 0]] => 6,
            [[0, -1], [-1, 0]] => 7,
            _ => 8,
        }
    }

    /// Width and height exchanged: each displayed row is a coded column.
    pub fn swaps_axes(self) -> bool {
        self.m[0][0] == 0
    }

    /// Along a displayed row, the coded samples run backwards (right to left or bottom to top).
    pub fn row_reversed(self) -> bool {
        self.m[0][0] + self.m[1][0] < 0
    }

    /// Down the displayed rows, the coded rows (or columns) run backwards.
    pub fn lines_reversed(self) -> bool {
        self.m[0][1] + self.m[1][1] < 0
    }

    fn mul(self, o: [[i8; 2]; 2]) -> Orientation {
        let a = self.m;
        let mut m = [[0i8; 2]; 2];
        for (r, row) in m.iter_mut().enumerate() {
            for (c, cell) in row.iter_mut().enumerate() {
                *cell = a[r][0] * o[0][c] + a[r][1] * o[1][c];
            }
        }
        Orientation { m }
    }
}

/// One transformation as applied, for the header (`Header::transforms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// `clap`: kept this rectangle of the image as it was at that point (pixels).
    Crop {
        x: u32,
        y: u32,
        width: u32,
        height: u32,
    },
    /// `irot`: turned anticlockwise by this many degrees (90, 180, 270).
    Rotate { degrees_anticlockwise: u16 },
    /// `imir`: mirrored, exchanging left and right (`true`, `imir` axis 1) or top and bottom.
    Mirror { left_right: bool },
}

/// The crop and orientation that together equal `transforms` applied in order to a
/// `width` × `height` coded image, and each transformation as applied.
///
/// Errors: a `clap` outside the image (`Invalid`, heic-rs's `crop_rect` rules).
pub(super) fn plan(
    width: u32,
    height: u32,
    transforms: &[Transform],
) -> Result<(Rect, Orientation, Vec<Applied>), ImageError> {
    // Displayed to coded: (x, y) = a · (u, v) + (bx, by); displayed size (dw, dh).
    let mut a = Orientation::IDENTITY;
    let (mut bx, mut by) = (0i64, 0i64);
    let (mut dw, mut dh) = (i64::from(width), i64::from(height));
    let mut applied = Vec::new();
    let shift = |a: Orientation, bx: &mut i64, by: &mut i64, ox: i64, oy: i64| {
        *bx += i64::from(a.m[0][0]) * ox + i64::from(a.m[0][1]) * oy;
        *by += i64::from(a.m[1][0]) * ox + i64::from(a.m[1][1]) * oy;
    };
    for t in transforms {
        let (m, ox, oy) = match *t {
            Transform::Crop(c) => {
                let (x, y, width, height) = heic_rs::transform::crop_rect(dw as u32, dh as u32, c)
                    .map_err(|e| ImageError::Invalid(format!("cannot decode: HEIF clap: {e}")))?;
                shift(a, &mut bx, &mut by, i64::from(x), i64::from(y));
                (dw, dh) = (i64::from(width), i64::from(height));
                applied.push(Applied::Crop {
                    x,
                    y,
                    width,
                    height,
                });
                continue;
            }
            Transform::Rotate(Rotation::None) => continue,
            // New (u', v') is old (dw − 1 − v', u').
            Transform::Rotate(Rotation::Ccw90) => ([[0, -1], [1, 0]], dw - 1, 0),
            Transform::Rotate(Rotation::Ccw180) => ([[-1, 0], [0, -1]], dw - 1, dh - 1),
            // New (u', v') is old (v', dh − 1 − u').
            Transform::Rotate(Rotation::Ccw270) => ([[0, 1], [-1, 0]], 0, dh - 1),
            Transform::Mirror(Mirror::LeftRight) => ([[-1, 0], [0, 1]], dw - 1, 0),
            Transform::Mirror(Mirror::TopBottom) => ([[1, 0], [0, -1]], 0, dh - 1),
        };
        shift(a, &mut bx, &mut by, ox, oy);
        a = a.mul(m);
        applied.push(match *t {
            Transform::Rotate(r) => Applied::Rotate {
                degrees_anticlockwise: r.degrees(),
            },
            _ => Applied::Mirror {
                left_right: *t == Transform::Mirror(Mirror::LeftRight),
            },
        });
        if m[0][0] == 0 {
            (dw, dh) = (dh, dw);
        }
    }
    let m = a.m.map(|r| r.map(i64::from));
    let corners = [(0, 0), (dw - 1, dh - 1)].map(|(u, v)| {
        (
            m[0][0] * u + m[0][1] * v + bx,
            m[1][0] * u + m[1][1] * v + by,
        )
    });
    let (x0, x1) = (
        corners[0].0.min(corners[1].0),
        corners[0].0.max(corners[1].0),
    );
    let (y0, y1) = (
        corners[0].1.min(corners[1].1),
        corners[0].1.max(corners[1].1),
    );
    let rect = Rect {
        x: x0 as u32,
        y: y0 as u32,
        w: (x1 - x0 + 1) as u32,
        h: (y1 - y0 + 1) as u32,
    };
    Ok((rect, a, applied))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `w` × `h` gray samples numbered 0, 1, 2… in reading order.
    fn numbered(w: u32, h: u32) -> Vec<u8> {
        (0..w * h).map(|i| i as u8).collect()
    }

    fn by_heic_rs(w: u32, h: u32, ts: &[Transform]) -> Option<(u32, u32, Vec<u8>)> {
        let im = heic_rs::Image {
            data: numbered(w, h),
            width: w,
            height: h,
            layout: heic_rs::PixelLayout::Gray8,
        };
        let out = heic_rs::transform::apply_all(im, ts).ok()?;
        Some((out.width, out.height, out.data))
    }

    /// The displayed image made the way the decoder makes it: each displayed row read from
    /// the cropped coded image along `Orientation`'s row and line directions.
    fn by_plan(w: u32, h: u32, ts: &[Transform]) -> Option<(u32, u32, Vec<u8>)> {
        let src = numbered(w, h);
        let (r, o, _) = plan(w, h, ts).ok()?;
        let (dw, dh) = if o.swaps_axes() {
            (r.h, r.w)
        } else {
            (r.w, r.h)
        };
        let mut out = Vec::new();
        for v in 0..dh {
            let line = if o.lines_reversed() { dh - 1 - v } else { v };
            for u in 0..dw {
                let along = if o.row_reversed() { dw - 1 - u } else { u };
                let (x, y) = if o.swaps_axes() {
                    (line, along)
                } else {
                    (along, line)
                };
                out.push(src[((r.y + y) * w + r.x + x) as usize]);
            }
        }
        Some((dw, dh, out))
    }

    #[test]
    fn every_sequence_of_three_transforms_matches_applying_them_in_turn() {
        let clap = heic_rs::props::simple::Clap {
            width: (5, 1),
            height: (3, 1),
            horiz_off: (1, 1),
            vert_off: (-1, 2),
        };
        let all = [
            Transform::Crop(clap),
            Transform::Rotate(Rotation::Ccw90),
            Transform::Rotate(Rotation::Ccw180),
            Transform::Rotate(Rotation::Ccw270),
            Transform::Mirror(Mirror::LeftRight),
            Transform::Mirror(Mirror::TopBottom),
        ];
        let mut checked = 0;
        for a in all {
            for b in all {
                for c in all {
                    let ts = [a, b, c];
                    let expected = by_heic_rs(9, 7, &ts);
                    assert_eq!(by_plan(9, 7, &ts), expected, "{ts:?}");
                    checked += usize::from(expected.is_some());
                }
            }
        }
        assert!(checked > 150, "only {checked} sequences were possible");
    }

    #[test]
    fn the_exif_equivalents_of_the_eight_turns_and_mirrors() {
        let r = |r| Transform::Rotate(r);
        let m = |m| Transform::Mirror(m);
        let cases: [(&[Transform], u8); 8] = [
            (&[], 1),
            (&[m(Mirror::LeftRight)], 2),
            (&[r(Rotation::Ccw180)], 3),
            (&[m(Mirror::TopBottom)], 4),
            (&[r(Rotation::Ccw90), m(Mirror::TopBottom)], 5),
            (&[r(Rotation::Ccw270)], 6),
            (&[r(Rotation::Ccw90), m(Mirror::LeftRight)], 7),
            (&[r(Rotation::Ccw90)], 8),
        ];
        for (ts, exif) in cases {
            assert_eq!(plan(4, 3, ts).unwrap().1.exif(), exif, "{ts:?}");
        }
    }
}
