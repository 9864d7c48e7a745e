//! Progress for the admin watching the run: an indicatif bar with rate, ETA
//! and counts when stderr is a terminal, plain periodic lines when it is not
//! (a log file, a CI job), nothing with `--quiet`.

use std::io::{IsTerminal, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::Traffic;
use crate::outcome::{plural, Tally};
use std::sync::atomic::Ordering;

/// Where the display goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Style {
    Bar,
    Lines,
    Silent,
}

impl Style {
    pub fn choose(quiet: bool) -> Style {
        if quiet {
            Style::Silent
        } else if std::io::stderr().is_terminal() {
            Style::Bar
        } else {
            Style::Lines
        }
    }
}

/// The bar on screen, if any: other writers to stderr go through it, so a
/// line never lands on the bar's own line.
static SHOWN: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Writes to stderr above the bar when one is shown (indicatif clears it,
/// the text goes out, the bar is drawn again below).
pub fn write_stderr(bytes: &[u8]) -> std::io::Result<()> {
    let bar = SHOWN.lock().ok().and_then(|shown| shown.clone());
    match bar {
        Some(bar) => bar.suspend(|| std::io::stderr().write_all(bytes)),
        None => std::io::stderr().write_all(bytes),
    }
}

fn show(bar: Option<ProgressBar>) {
    if let Ok(mut shown) = SHOWN.lock() {
        *shown = bar;
    }
}

/// A running display; stops when dropped or finished. It counts the rows
/// to send, not the rows of the file.
pub struct Progress {
    task: Option<tokio::task::JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

const LINE_EVERY: Duration = Duration::from_secs(5);

impl Progress {
    pub fn start(style: Style, total: u64, tally: Arc<Tally>, traffic: Arc<Traffic>) -> Progress {
        match style {
            Style::Silent => Progress {
                task: None,
                bar: None,
            },
            Style::Bar => {
                let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{elapsed_precise} [{bar:30}] {pos}/{len} {rate} ETA {eta} {msg}",
                    )
                    .map(|style| {
                        // indicatif's own {per_sec} shows `51.8014/s`.
                        style.with_key(
                            "rate",
                            |state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write| {
                                let _ = write!(out, "{:.1}/s", state.per_sec());
                            },
                        )
                    })
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                let shown = bar.clone();
                show(Some(bar.clone()));
                let task = tokio::spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_millis(200));
                    loop {
                        tick.tick().await;
                        shown.set_position(tally.sent());
                        shown.set_message(status_text(&tally, &traffic));
                    }
                });
                Progress {
                    task: Some(task),
                    bar: Some(bar),
                }
            }
            Style::Lines => {
                let started = Instant::now();
                let task = tokio::spawn(async move {
                    let mut tick = tokio::time::interval(LINE_EVERY);
                    tick.tick().await;
                    loop {
                        tick.tick().await;
                        eprintln!(
                            "{}",
                            progress_line(total, &tally, &traffic, started.elapsed())
                        );
                    }
                });
                Progress {
                    task: Some(task),
                    bar: None,
                }
            }
        }
    }

    pub fn finish(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        if let Some(bar) = self.bar.take() {
            show(None);
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.stop();
    }
}

fn status_text(tally: &Tally, traffic: &Traffic) -> String {
    let throttled = traffic.throttled.load(Ordering::Relaxed);
    let retries = traffic.retries.load(Ordering::Relaxed);
    let lookups = traffic.lookups.load(Ordering::Relaxed);
    let mut text = tally.describe();
    if lookups > 0 {
        text.push_str(&format!(" | {}", plural(lookups, "lookup", "lookups")));
    }
    if throttled + retries > 0 {
        text.push_str(&format!(
            " | {}, {throttled} throttled",
            plural(retries, "retry", "retries")
        ));
    }
    text
}

fn progress_line(total: u64, tally: &Tally, traffic: &Traffic, elapsed: Duration) -> String {
    let done = tally.sent();
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    format!(
        "progress: {done}/{total} rows ({percent}%), {rate:.1} rows/s; {}",
        status_text(tally, traffic)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Outcome;

    #[test]
    fn plain_line_shows_counts_and_pushback() {
        let tally = Tally::default();
        tally.add(Outcome::Ok);
        tally.add(Outcome::Ok);
        tally.add(Outcome::Failed);
        let traffic = Traffic::default();
        traffic.throttled.store(4, Ordering::Relaxed);
        traffic.lookups.store(2, Ordering::Relaxed);
        let line = progress_line(6, &tally, &traffic, Duration::from_secs(3));
        assert_eq!(
            line,
            "progress: 3/6 rows (50%), 1.0 rows/s; ok 2, failed 1 | 2 lookups | 0 retries, 4 throttled"
        );
        assert_eq!(tally.snapshot().get(Outcome::Ok), 2);
    }
}
