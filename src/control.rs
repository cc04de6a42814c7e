//! What the supervisor and the job's threads share (PRODUCT.md "Network behaviour": a stopped
//! job stops): the deadline, the stop switch, the claim on the run's last write, and the CDN
//! asset an error callback must name.
//!
//! Once the supervisor has decided to report `interrupted` or `timeout` ([`Control::stop`]),
//! no new request starts: every request checks [`Control::check`] first, and every pause
//! between attempts ([`Control::pause`]) ends at once. A request already on the wire is not
//! cut; its result is simply no longer used. `.ref.json` is written only by a run that will
//! report success: before writing it, the job claims the run's last write
//! ([`Control::commit`]), which fails once a stop is decided; while the claim holds, a signal or
//! the deadline waits for that one write instead of deciding (bounded by its timeout), so the
//! record and the callback always agree.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Why the run was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// SIGINT or SIGTERM (Fly stopping the machine), by name.
    Signal(&'static str),
    /// `JOB_TIMEOUT_SECS` passed.
    Deadline,
}

impl Stop {
    /// What happened, in words: `the job was interrupted by SIGTERM`.
    pub fn words(self) -> String {
        match self {
            Stop::Signal(name) => format!("the job was interrupted by {name}"),
            Stop::Deadline => "the job's deadline (JOB_TIMEOUT_SECS) passed".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// The job may start requests.
    Working,
    /// The job is writing the run's last record; a stop that came meanwhile is kept here and
    /// lets no further attempt start.
    Committing(Option<Stop>),
    /// A stop was decided: nothing new starts.
    Stopped(Stop),
}

/// The run's deadline, stop switch, last-write claim and CDN asset (see the module docs).
#[derive(Debug)]
pub struct Control {
    state: Mutex<State>,
    changed: Condvar,
    deadline: Option<Instant>,
    asset: Mutex<Option<String>>,
}

impl Control {
    /// A run that must end by `deadline`.
    pub fn new(deadline: Instant) -> Control {
        Control::with(Some(deadline))
    }

    /// Requests made outside the job (the callback delivery, the tools): never stopped, with
    /// this much time for all their attempts.
    pub fn budget(time: Duration) -> Control {
        Control::with(Instant::now().checked_add(time))
    }

    fn with(deadline: Option<Instant>) -> Control {
        Control {
            state: Mutex::new(State::Working),
            changed: Condvar::new(),
            deadline,
            asset: Mutex::new(None),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The time left before the deadline (zero once it passed); `None` without a deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
    }

    /// Called before a request starts. Errors with the stop once one is decided, or while the
    /// last write is claimed and a stop is waiting for it.
    pub fn check(&self) -> Result<(), Stop> {
        match *self.state() {
            State::Stopped(why) | State::Committing(Some(why)) => Err(why),
            _ => Ok(()),
        }
    }

    /// Waits `pause` between two attempts, ending early (with the stop) when a stop comes
    /// meanwhile.
    pub fn pause(&self, pause: Duration) -> Result<(), Stop> {
        let until = Instant::now() + pause;
        let mut state = self.state();
        loop {
            if let State::Stopped(why) | State::Committing(Some(why)) = *state {
                return Err(why);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The supervisor's decision to report `why`: from now on nothing new starts. Returns
    /// `false` (nothing decided yet) while the job is writing its last record: the caller then
    /// waits for that write's outcome, and no further attempt of it starts.
    pub fn stop(&self, why: Stop) -> bool {
        let mut state = self.state();
        let decided = match *state {
            State::Working => {
                *state = State::Stopped(why);
                true
            }
            State::Committing(None) => {
                *state = State::Committing(Some(why));
                false
            }
            State::Committing(Some(_)) => false,
            State::Stopped(_) => true,
        };
        self.changed.notify_all();
        decided
    }

    /// The job's claim on the run's last write (`.ref.json`, then the success callback).
    /// Errors with the stop already decided: the write must not happen.
    pub fn commit(&self) -> Result<(), Stop> {
        let mut state = self.state();
        match *state {
            State::Working => {
                *state = State::Committing(None);
                Ok(())
            }
            State::Committing(_) => Ok(()),
            State::Stopped(why) => Err(why),
        }
    }

    /// Records the CDN asset this run stored, or may have stored (an upload whose answer never
    /// came); `None` when the last ID tried is known not to hold our upload.
    pub fn set_asset(&self, id: Option<&str>) {
        *self.asset.lock().unwrap_or_else(|e| e.into_inner()) = id.map(str::to_string);
    }

    /// The asset an error callback names (`cdn_asset_id`), so the orchestrator can remove it.
    pub fn asset(&self) -> Option<String> {
        self.asset.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stop_ends_pauses_and_refuses_new_requests() {
        let c = std::sync::Arc::new(Control::new(Instant::now() + Duration::from_secs(60)));
        assert!(c.check().is_ok());
        let waiter = {
            let c = c.clone();
            std::thread::spawn(move || {
                let t = Instant::now();
                (c.pause(Duration::from_secs(30)), t.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        assert!(c.stop(Stop::Signal("SIGTERM")));
        let (paused, took) = waiter.join().unwrap();
        assert_eq!(paused, Err(Stop::Signal("SIGTERM")));
        assert!(took < Duration::from_secs(10), "{took:?}");
        assert_eq!(c.check(), Err(Stop::Signal("SIGTERM")));
        assert_eq!(
            Stop::Signal("SIGTERM").words(),
            "the job was interrupted by SIGTERM"
        );
        assert_eq!(
            c.commit(),
            Err(Stop::Signal("SIGTERM")),
            "no last write after a stop"
        );
    }

    #[test]
    fn a_claimed_last_write_holds_off_the_decision_but_not_its_retries() {
        let c = Control::new(Instant::now() + Duration::from_secs(60));
        assert_eq!(c.commit(), Ok(()));
        assert!(c.check().is_ok(), "the claimed write may start");
        assert!(
            !c.stop(Stop::Deadline),
            "not decided while the write is out"
        );
        assert!(c.check().is_err(), "no further attempt of it");
        assert!(c.pause(Duration::from_millis(1)).is_err());
    }

    #[test]
    fn budgets_and_deadlines_count_down() {
        let c = Control::budget(Duration::from_secs(30));
        let left = c.remaining().unwrap();
        assert!(left <= Duration::from_secs(30) && left > Duration::from_secs(29));
        assert!(c.pause(Duration::from_millis(5)).is_ok());
        c.set_asset(Some("A1"));
        assert_eq!(c.asset().as_deref(), Some("A1"));
        c.set_asset(None);
        assert_eq!(c.asset(), None);
    }
}
