//! Pure decisions: which variants an image gets and at what size, the asset ID, the keys.

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

/// SPEC.md Step 3: base-36 upper-case millisecond timestamp followed by 16 upper-case hex digits.
pub fn asset_id(now_ms: u64, random: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut ts = Vec::new();
    let mut n = now_ms;
    loop {
        ts.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    ts.reverse();
    format!("{}{random:016X}", String::from_utf8_lossy(&ts))
}

/// The key a `.ref.json` is written to, beside the original.
pub fn ref_json_key(input_key: &str) -> String {
    format!("{input_key}.ref.json")
}

/// Where the original goes when `INPUT_FILE_NAME` already holds a different object.
pub fn archive_fallback_key(batch_id: &str, task_id: &str, file_name: &str) -> String {
    format!("{batch_id}/{task_id}/{file_name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(t: &[Target]) -> Vec<&str> {
        t.iter().map(|t| t.name).collect()
    }

    #[test]
    fn size_bands() {
        assert_eq!(names(&targets(128, 128, 4000)), ["original"]);
        assert_eq!(names(&targets(400, 300, 4000)), ["original"]);
        assert_eq!(names(&targets(401, 300, 4000)), ["thumb", "original"]);
        assert_eq!(
            names(&targets(1201, 800, 4000)),
            ["thumb", "medium", "original"]
        );
        assert_eq!(
            names(&targets(4000, 10, 4000)),
            ["thumb", "medium", "large", "original"]
        );
        assert_eq!(
            names(&targets(4001, 10, 4000)),
            ["thumb", "medium", "large"]
        );
    }

    #[track_caller]
    fn fit(w: u32, h: u32, max: u32, expect: (u32, u32)) {
        assert_eq!(fit_inside(w, h, max), expect);
    }

    #[test]
    fn fitting_rounds_and_never_upscales() {
        fit(6000, 4000, 400, (400, 267));
        fit(6000, 4000, 1200, (1200, 800));
        fit(6000, 4000, 2400, (2400, 1600));
        fit(4000, 6000, 400, (267, 400));
        fit(3000, 3000, 1200, (1200, 1200));
        fit(10000, 3, 400, (400, 1));
        fit(300, 200, 400, (300, 200));
    }

    #[test]
    fn asset_id_shape() {
        assert_eq!(asset_id(0, 0), "00000000000000000");
        assert_eq!(asset_id(35, 0xABCDEF), "Z0000000000ABCDEF");
        let id = asset_id(1_732_790_000_000, u64::MAX);
        assert_eq!(id, "M416FCZKFFFFFFFFFFFFFFFF");
    }
}
