fn main() {
    for p in std::env::args().skip(1) {
        let img = image::open(&p).unwrap().to_rgb8();
        let (w, h) = img.dimensions();
        println!(
            "{p}: {w}x{h} tl={:?} c={:?} br={:?}",
            img.get_pixel(2, 2).0,
            img.get_pixel(w / 2, h / 2).0,
            img.get_pixel(w - 3, h - 3).0
        );
    }
}
