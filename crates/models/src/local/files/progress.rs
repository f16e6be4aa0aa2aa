//! Reporting the long steps of a fetch: nothing, or a progress bar (log lines off a terminal).

use std::io::{self, IsTerminal};
use std::sync::{Mutex, MutexGuard, PoisonError};

use indicatif::{ProgressBar, ProgressStyle};

/// Told about each long step of a fetch (download, checksum, extraction), one at a time.
pub trait FetchProgress: Send + Sync {
    fn start(&self, label: &str, total_bytes: Option<u64>);
    fn advance(&self, bytes: u64);
    fn finish(&self, label: &str);
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl FetchProgress for NoProgress {
    fn start(&self, _label: &str, _total_bytes: Option<u64>) {}
    fn advance(&self, _bytes: u64) {}
    fn finish(&self, _label: &str) {}
}

/// A progress bar on stderr; when stderr is not a terminal (a service, a log file), an info log
/// line at each quarter instead.
#[derive(Debug, Default)]
pub struct TerminalProgress {
    step: Mutex<Option<ProgressStep>>,
}

#[derive(Debug)]
struct ProgressStep {
    bar: ProgressBar,
    label: String,
    total: Option<u64>,
    done: u64,
    quarters_logged: u64,
    on_terminal: bool,
}

impl TerminalProgress {
    pub fn new() -> Self {
        Self::default()
    }

    fn step(&self) -> MutexGuard<'_, Option<ProgressStep>> {
        self.step.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl FetchProgress for TerminalProgress {
    fn start(&self, label: &str, total_bytes: Option<u64>) {
        let on_terminal = io::stderr().is_terminal();
        let bar = new_bar(label, total_bytes);
        if !on_terminal {
            log_start(label, total_bytes);
        }
        *self.step() = Some(ProgressStep {
            bar,
            label: label.to_owned(),
            total: total_bytes,
            done: 0,
            quarters_logged: 0,
            on_terminal,
        });
    }

    fn advance(&self, bytes: u64) {
        if let Some(step) = self.step().as_mut() {
            step.advance(bytes);
        }
    }

    fn finish(&self, label: &str) {
        let Some(step) = self.step().take() else {
            return;
        };
        step.bar.finish();
        if !step.on_terminal && step.quarters_logged < 4 {
            tracing::info!("{label}: done ({} bytes)", step.done);
        }
    }
}

impl ProgressStep {
    fn advance(&mut self, bytes: u64) {
        self.bar.inc(bytes);
        self.done = self.done.saturating_add(bytes);
        if self.on_terminal {
            return;
        }
        let quarters = quarters_done(self.done, self.total);
        if quarters > self.quarters_logged {
            self.quarters_logged = quarters;
            tracing::info!(
                "{}: {}% ({} of {} bytes)",
                self.label,
                quarters * 25,
                self.done,
                self.total.unwrap_or_default()
            );
        }
    }
}

/// A bar when the size is known, else a spinner.
fn new_bar(label: &str, total_bytes: Option<u64>) -> ProgressBar {
    let bar = match total_bytes {
        Some(total) => ProgressBar::new(total).with_style(bar_style()),
        None => ProgressBar::new_spinner().with_style(spinner_style()),
    };
    bar.set_message(label.to_owned());
    bar
}

fn log_start(label: &str, total_bytes: Option<u64>) {
    match total_bytes {
        Some(total) => tracing::info!("{label}: starting ({total} bytes)"),
        None => tracing::info!("{label}: starting"),
    }
}

/// How many quarters (0 to 4) of `total` are done; 0 when the total is unknown.
fn quarters_done(done: u64, total: Option<u64>) -> u64 {
    match total {
        Some(total) if total > 0 => (done.saturating_mul(4) / total).min(4),
        _ => 0,
    }
}

const BAR_TEMPLATE: &str =
    "{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}";
const SPINNER_TEMPLATE: &str = "{spinner} {msg} {bytes} {binary_bytes_per_sec}";

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template(BAR_TEMPLATE)
        .map(|style| style.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template(SPINNER_TEMPLATE)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_is_logged_by_quarters() {
        assert_eq!(quarters_done(0, Some(100)), 0);
        assert_eq!(quarters_done(24, Some(100)), 0);
        assert_eq!(quarters_done(25, Some(100)), 1);
        assert_eq!(quarters_done(99, Some(100)), 3);
        assert_eq!(quarters_done(150, Some(100)), 4);
        assert_eq!(quarters_done(50, None), 0);
        assert_eq!(quarters_done(50, Some(0)), 0);
    }

    #[test]
    fn the_progress_templates_are_valid() {
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
        assert!(ProgressStyle::with_template(SPINNER_TEMPLATE).is_ok());
    }
}
