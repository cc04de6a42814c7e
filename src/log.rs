//! Structured logs: one JSON object per line on stdout, and the redaction every outgoing text
//! (log line, error message, callback, panic) passes through so no secret leaves the process:
//! every URL in it redacted, every registered secret replaced.

use std::io::Write;
use std::sync::{OnceLock, RwLock};

use serde_json::{Map, Value};

struct Context {
    task_id: String,
    batch_id: String,
    secrets: Vec<String>,
}

static CONTEXT: OnceLock<RwLock<Context>> = OnceLock::new();

fn context() -> &'static RwLock<Context> {
    CONTEXT.get_or_init(|| {
        RwLock::new(Context {
            task_id: String::new(),
            batch_id: String::new(),
            secrets: Vec::new(),
        })
    })
}

/// Sets the IDs every later line carries and the values that must never be printed.
pub fn init(task_id: &str, batch_id: &str, secrets: &[&str]) {
    let mut ctx = context().write().unwrap_or_else(|e| e.into_inner());
    ctx.task_id = task_id.to_string();
    ctx.batch_id = batch_id.to_string();
    ctx.secrets = secrets
        .iter()
        .filter(|s| s.len() >= 4)
        .map(|s| s.to_string())
        .collect();
}

/// `text` with every URL in it redacted ([`crate::urls::redact_all`]) and every registered
/// secret replaced by `[REDACTED]`.
pub fn redact(text: &str) -> String {
    let ctx = context().read().unwrap_or_else(|e| e.into_inner());
    let mut out = crate::urls::redact_all(text);
    for s in &ctx.secrets {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[REDACTED]");
        }
    }
    out
}

/// Writes one log line. `fields` adds `duration_ms`, `bytes` and the like.
pub fn line(level: &str, stage: &str, msg: &str, fields: &[(&str, Value)]) {
    let (task_id, batch_id) = {
        let ctx = context().read().unwrap_or_else(|e| e.into_inner());
        (ctx.task_id.clone(), ctx.batch_id.clone())
    };
    let mut obj = Map::new();
    obj.insert(
        "ts".into(),
        Value::String(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
    );
    obj.insert("level".into(), level.into());
    obj.insert("task_id".into(), task_id.into());
    obj.insert("batch_id".into(), batch_id.into());
    obj.insert("stage".into(), stage.into());
    obj.insert("msg".into(), redact(msg).into());
    for (k, v) in fields {
        let v = match v {
            Value::String(s) => Value::String(redact(s)),
            other => other.clone(),
        };
        obj.insert((*k).to_string(), v);
    }
    let mut text = Value::Object(obj).to_string();
    text.push('\n');
    // A closed stdout must not take the job down with it.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

pub fn info(stage: &str, msg: &str, fields: &[(&str, Value)]) {
    line("info", stage, msg, fields);
}

pub fn warn(stage: &str, msg: &str, fields: &[(&str, Value)]) {
    line("warn", stage, msg, fields);
}

pub fn error(stage: &str, msg: &str, fields: &[(&str, Value)]) {
    line("error", stage, msg, fields);
}

/// Serialises the unit tests that set the process-wide context: each `init` replaces the
/// secrets another test may be checking.
#[cfg(test)]
pub fn test_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_registered_secrets() {
        let _guard = test_lock();
        init("t", "b", &["AKIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG", ""]);
        assert_eq!(
            redact("key AKIAEXAMPLE and wJalrXUtnFEMI/K7MDENG."),
            "key [REDACTED] and [REDACTED]."
        );
    }
}
