//! Where the image stage's time goes: each step's start and duration, on whichever thread ran
//! it, for `variants`' summary and the job's log (`just bench` prints them per photo).
//! Timings never decide anything.

use std::sync::Mutex;
use std::time::Instant;

/// One timed step of the image stage.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Phase {
    /// What ran, e.g. `decode + resize large`, `encode medium`, `original`.
    pub name: String,
    /// When it started, in ms since the image stage started (the probe excluded).
    pub start_ms: f64,
    /// How long it ran, in ms (wall time on its thread, waits included).
    pub ms: f64,
}

/// The steps timed so far; shared by the threads of one image.
#[derive(Debug)]
pub(in crate::image) struct Phases {
    start: Instant,
    done: Mutex<Vec<Phase>>,
}

impl Phases {
    pub(in crate::image) fn new() -> Phases {
        Phases {
            start: Instant::now(),
            done: Mutex::new(Vec::new()),
        }
    }

    /// Runs `f`, recording it as `name`.
    pub(in crate::image) fn time<T>(&self, name: impl Into<String>, f: impl FnOnce() -> T) -> T {
        let began = Instant::now();
        let out = f();
        let phase = Phase {
            name: name.into(),
            start_ms: ms(began - self.start),
            ms: ms(began.elapsed()),
        };
        self.done
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(phase);
        out
    }

    /// The recorded steps, in the order they started.
    pub(in crate::image) fn into_list(self) -> Vec<Phase> {
        let mut list = self
            .done
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        list.sort_by(|a, b| a.start_ms.total_cmp(&b.start_ms));
        list
    }
}

/// Milliseconds, to 0.1 ms.
fn ms(d: std::time::Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}
