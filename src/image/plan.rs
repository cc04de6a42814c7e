//! The plan step's arithmetic: which variants an image gets and their exact dimensions.

/// A variant to make: its name and its exact output dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub name: &'static str,
    pub width: u32,
    pub height: u32,
}

/// The resized variants, smallest first, with the longest side of each.
pub const SIZES: [(&str, u32); 3] = [("thumb", 400), ("medium", 1200), ("large", 2400)];
/// The variants of an upright `width`×`height` image (PRODUCT.md "Variants"): a resized
/// variant for every size the image is larger than, then `original` when its longest side is
/// at most `original_max`.
pub fn targets(width: u32, height: u32, original_max: u32) -> Vec<Target> {
    let longest = width.max(height);
    let mut out: Vec<Target> = SIZES
        .iter()
        .filter(|(_, max)| longest > *max)
        .map(|&(name, max)| {
            let (w, h) = fit_inside(width, height, max);
            Target {
                name,
                width: w,
                height: h,
            }
        })
        .collect();
    if longest <= original_max {
        out.push(Target {
            name: "original",
            width,
            height,
        });
    }
    out
}

/// Scales so the longest side is `max` (never up); the short side is rounded, at least 1.
pub fn fit_inside(width: u32, height: u32, max: u32) -> (u32, u32) {
    let longest = width.max(height);
    if longest <= max {
        return (width, height);
    }
    let scale = |short: u32| -> u32 {
        let v =
            (u64::from(short) * u64::from(max) * 2 + u64::from(longest)) / (2 * u64::from(longest));
        (v as u32).max(1)
    };
    if width >= height {
        (max, scale(height))
    } else {
        (scale(width), max)
    }
}
