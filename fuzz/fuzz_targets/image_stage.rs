//! Any bytes through the image stage: variants or an error, never a panic, hang or blow-up.
#![no_main]

use arke_image_processor::config::ImageSettings;
use arke_image_processor::image::{self, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Small limits keep each run fast; the header check must refuse the rest.
    let settings = ImageSettings {
        max_input_pixels: 4_000_000,
        ..ImageSettings::default()
    };
    if let Ok(out) = image::process(data, &settings) {
        for v in &out.variants {
            assert!(v.width >= 1 && v.height >= 1);
            assert!(!v.data.is_empty());
        }
    }
    if let Some(format) = Format::detect(data) {
        let _ = image::strip_metadata(format, data, image::Orientation::Rotate90, true);
    }
});
