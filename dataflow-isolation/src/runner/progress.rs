//! The progress bar on stderr: runs done of runs planned, the phase, the suspects under
//! investigation. Hidden when stderr is not a terminal; one line per phase then.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Shown while the check runs.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    /// Phase lines on stderr when there is no bar.
    lines: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    phase: String,
    suspects: usize,
}

impl Progress {
    pub(crate) fn new(enabled: bool) -> Progress {
        let terminal = std::io::stderr().is_terminal();
        let bar = (enabled && terminal).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30.cyan/blue} {pos}/{len} runs  {msg}",
                )
                .expect("the template is valid")
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            lines: enabled && !terminal,
            state: Mutex::new(State::default()),
        }
    }

    pub(crate) fn phase(&self, phase: &str) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.phase = phase.to_owned();
        if self.lines {
            eprintln!("isolation-check: {phase}");
        }
        self.show(&state);
    }

    pub(crate) fn start_runs(&self, planned: usize) {
        if let Some(bar) = &self.bar {
            bar.set_length(planned as u64);
        }
    }

    pub(crate) fn add_planned(&self, more: usize) {
        if let Some(bar) = &self.bar {
            bar.inc_length(more as u64);
        }
    }

    pub(crate) fn run_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub(crate) fn set_suspects(&self, suspects: usize) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.suspects = suspects;
        self.show(&state);
    }

    fn show(&self, state: &State) {
        if let Some(bar) = &self.bar {
            if state.suspects > 0 {
                bar.set_message(format!(
                    "{} ({} changed outcome)",
                    state.phase, state.suspects
                ));
            } else {
                bar.set_message(state.phase.clone());
            }
        }
    }

    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
