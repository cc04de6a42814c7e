//! Any environment through the config parser: a Config or an error naming variables, never a
//! panic, and never a secret in what is printed.
#![no_main]

use std::collections::HashMap;

use arke_image_processor::config::Config;
use libfuzzer_sys::fuzz_target;

fn render(env: &HashMap<String, String>) -> String {
    match Config::from_lookup(|k| env.get(k).cloned()) {
        Ok(cfg) => format!("{cfg:?} {}", cfg.plan()),
        Err(e) => e.to_string(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let shown = render(&env);
    if let Some(secret) = env.get("R2_SECRET_ACCESS_KEY").filter(|s| !s.trim().is_empty()) {
        // Differential: the secret leaked only if it is in the output because of its value —
        // a secret that equals a variable name or another value shows up anyway.
        let mut other = env.clone();
        other.insert("R2_SECRET_ACCESS_KEY".into(), "\u{1}placeholder\u{1}".into());
        if !render(&other).contains(secret.as_str()) {
            assert!(!shown.contains(secret.as_str()), "secret printed: {shown}");
        }
    }
});
