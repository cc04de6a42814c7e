//! Any environment through the config parser: a Config or an error naming variables, never a
//! panic, and never a secret in what is printed.
#![no_main]

use std::collections::HashMap;

use arke_image_processor::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let env: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let secret = env.get("R2_SECRET_ACCESS_KEY").filter(|s| s.len() >= 8).cloned();
    let shown = match Config::from_lookup(|k| env.get(k).cloned()) {
        Ok(cfg) => format!("{cfg:?} {}", cfg.plan()),
        Err(e) => e.to_string(),
    };
    if let Some(secret) = secret {
        // A secret that is also another variable's value may legitimately appear; only check
        // distinctive ones.
        if !env.iter().any(|(k, v)| k != "R2_SECRET_ACCESS_KEY" && v.contains(secret.as_str())) {
            assert!(!shown.contains(&secret), "secret printed");
        }
    }
});
