//! The one harness every metric shares: warm-up, N timed runs of ours and of its baseline
//! interleaved, then medians, means and the ratio.
//!
//! This machine is noisy, so a ratio is only ever taken between two workloads measured in
//! the same run, and their runs alternate (ours, baseline, ours, ...) so that a burst of
//! noise hits both alike. Ratios use medians, which a few slow outliers do not move.

use std::time::{Duration, Instant};

/// A metric's two workloads: ours (through dataflow / dataflow-testing) and its baseline
/// (raw sqlx or plain Rust doing the same work).
///
/// Each call runs the workload once and returns the time to count, so that set-up that is
/// not part of the metric (a fresh database for a bulk insert, say) stays outside it.
pub trait Workload {
    /// One run of ours.
    fn ours(&mut self) -> Duration;
    /// One run of the baseline.
    fn baseline(&mut self) -> Duration;
}

/// How many untimed warm-up runs and timed runs each side gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Untimed runs of each side before the timed ones.
    pub warmup: usize,
    /// Timed runs of each side.
    pub iterations: usize,
}

impl Plan {
    /// `warmup` untimed runs, then `iterations` timed runs, of each side.
    pub const fn new(warmup: usize, iterations: usize) -> Plan {
        Plan { warmup, iterations }
    }
}

/// The timings of one side, sorted.
#[derive(Debug, Clone, PartialEq)]
pub struct Samples {
    sorted: Vec<Duration>,
}

impl Samples {
    /// Samples from timings in any order.
    ///
    /// # Panics
    ///
    /// When `times` is empty.
    pub fn new(mut times: Vec<Duration>) -> Samples {
        assert!(!times.is_empty(), "a metric needs at least one timed run");
        times.sort_unstable();
        Samples { sorted: times }
    }

    /// The median (the mean of the two middle values for an even count).
    pub fn median(&self) -> Duration {
        let n = self.sorted.len();
        if n % 2 == 1 {
            self.sorted[n / 2]
        } else {
            (self.sorted[n / 2 - 1] + self.sorted[n / 2]) / 2
        }
    }

    /// The arithmetic mean.
    pub fn mean(&self) -> Duration {
        let total: Duration = self.sorted.iter().sum();
        total / u32::try_from(self.sorted.len()).unwrap_or(u32::MAX)
    }

    /// The fastest run.
    pub fn min(&self) -> Duration {
        self.sorted[0]
    }

    /// How many timed runs there were.
    pub fn len(&self) -> usize {
        self.sorted.len()
    }

    /// Always false: samples are never empty.
    pub fn is_empty(&self) -> bool {
        self.sorted.is_empty()
    }

    /// Every sample divided by `n` (a run of `n` operations, as time per operation).
    pub fn per(&self, n: u32) -> Samples {
        Samples {
            sorted: self.sorted.iter().map(|d| *d / n.max(1)).collect(),
        }
    }
}

/// Ours and its baseline, measured in the same run.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Ours.
    pub ours: Samples,
    /// The baseline.
    pub baseline: Samples,
}

impl Comparison {
    /// `median(ours) / median(baseline)`.
    pub fn ratio(&self) -> f64 {
        ratio(self.ours.median(), self.baseline.median())
    }

    /// Both sides as time per operation, for runs of `n` operations each.
    pub fn per(&self, n: u32) -> Comparison {
        Comparison {
            ours: self.ours.per(n),
            baseline: self.baseline.per(n),
        }
    }
}

/// `a / b` as a float; infinite when `b` is zero and `a` is not, 1 when both are.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    let (a, b) = (a.as_secs_f64(), b.as_secs_f64());
    if b == 0.0 {
        if a == 0.0 {
            1.0
        } else {
            f64::INFINITY
        }
    } else {
        a / b
    }
}

/// Warms both sides up, then runs them alternately, `plan.iterations` timed runs each.
/// The side that goes first alternates too.
pub fn compare(plan: Plan, workload: &mut impl Workload) -> Comparison {
    for _ in 0..plan.warmup {
        workload.ours();
        workload.baseline();
    }
    let mut ours = Vec::with_capacity(plan.iterations);
    let mut baseline = Vec::with_capacity(plan.iterations);
    for i in 0..plan.iterations.max(1) {
        if i % 2 == 0 {
            ours.push(workload.ours());
            baseline.push(workload.baseline());
        } else {
            baseline.push(workload.baseline());
            ours.push(workload.ours());
        }
    }
    Comparison {
        ours: Samples::new(ours),
        baseline: Samples::new(baseline),
    }
}

/// Warms one workload up and times it `plan.iterations` times (for metrics without a
/// baseline, such as an absolute time).
pub fn measure(plan: Plan, mut run: impl FnMut() -> Duration) -> Samples {
    for _ in 0..plan.warmup {
        run();
    }
    Samples::new((0..plan.iterations.max(1)).map(|_| run()).collect())
}

/// Runs `work` once and returns how long it took.
pub fn timed(work: impl FnOnce()) -> Duration {
    let start = Instant::now();
    work();
    start.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_median_of_an_odd_count_is_the_middle_value_and_of_an_even_count_the_mean_of_two() {
        assert_eq!(Samples::new(vec![ms(9), ms(1), ms(5)]).median(), ms(5));
        assert_eq!(
            Samples::new(vec![ms(4), ms(1), ms(2), ms(100)]).median(),
            ms(3)
        );
        assert_eq!(
            Samples::new(vec![ms(4), ms(1), ms(2), ms(100)]).mean(),
            ms(26) + Duration::from_micros(750)
        );
        assert_eq!(Samples::new(vec![ms(4), ms(1)]).min(), ms(1));
    }

    #[test]
    fn the_ratio_is_ours_over_the_baseline_on_medians_and_ignores_an_outlier() {
        let comparison = Comparison {
            ours: Samples::new(vec![ms(12), ms(12), ms(1000)]),
            baseline: Samples::new(vec![ms(10), ms(9), ms(11)]),
        };
        assert!((comparison.ratio() - 1.2).abs() < 1e-9);
        assert!((comparison.per(4).ours.median().as_secs_f64() - 0.003).abs() < 1e-12);
    }

    #[test]
    fn a_zero_baseline_gives_an_infinite_ratio_unless_ours_is_zero_too() {
        assert_eq!(ratio(ms(1), ms(0)), f64::INFINITY);
        assert_eq!(ratio(ms(0), ms(0)), 1.0);
        assert!((ratio(ms(3), ms(2)) - 1.5).abs() < 1e-12);
    }

    struct Counting {
        order: Vec<char>,
    }

    impl Workload for Counting {
        fn ours(&mut self) -> Duration {
            self.order.push('o');
            ms(2)
        }
        fn baseline(&mut self) -> Duration {
            self.order.push('b');
            ms(1)
        }
    }

    #[test]
    fn compare_warms_up_then_alternates_which_side_goes_first() {
        let mut w = Counting { order: Vec::new() };
        let c = compare(Plan::new(1, 3), &mut w);
        assert_eq!(w.order.iter().collect::<String>(), "obobboob");
        assert_eq!((c.ours.len(), c.baseline.len()), (3, 3));
        assert!((c.ratio() - 2.0).abs() < 1e-12);
    }
}
