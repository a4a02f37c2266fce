//! Memory: the resident size across many sequential instance lives, after a warm-up.
//!
//! Each probe runs in a process of its own (`bench-table --probe-memory KIND`), so that
//! memory freed by the other metrics cannot hide a leak.

use serde_json::{json, Value};

use crate::life::guarded_file_test;
use crate::models::User;
use crate::os::resident_bytes;

/// What a memory probe repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cycle {
    /// `DataFlow::new`, register a model, `cleanup_nodes()`, drop.
    Instance,
    /// A whole guarded test life on a temporary SQLite file.
    GuardedTest,
    /// Like `Instance`, closing the pool (`close_blocking`) before the drop, so that the
    /// drop has no pool left to close on the engine (for comparison with `Instance`).
    InstanceClosed,
}

impl Cycle {
    /// The name `--probe-memory` takes.
    pub fn name(self) -> &'static str {
        match self {
            Cycle::Instance => "instances",
            Cycle::GuardedTest => "guarded-tests",
            Cycle::InstanceClosed => "instances-closed",
        }
    }

    /// The cycle named `name`.
    pub fn from_name(name: &str) -> Option<Cycle> {
        [Cycle::Instance, Cycle::GuardedTest, Cycle::InstanceClosed]
            .into_iter()
            .find(|c| c.name() == name)
    }

    fn run(self) {
        match self {
            Cycle::Instance => {
                let db = dataflow::DataFlow::new("sqlite::memory:").expect("an instance");
                db.model::<User>().expect("the model");
                assert_eq!(db.cleanup_nodes(), 10);
                drop(db);
            }
            Cycle::GuardedTest => guarded_file_test(),
            Cycle::InstanceClosed => {
                let db = dataflow::DataFlow::new("sqlite::memory:").expect("an instance");
                db.model::<User>().expect("the model");
                assert_eq!(db.cleanup_nodes(), 10);
                db.close_blocking();
                drop(db);
            }
        }
    }
}

/// The resident size after `warmup` cycles and then every tenth of `cycles` more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Growth {
    /// Resident bytes after the warm-up.
    pub warm: u64,
    /// Resident bytes after every tenth of the cycles, the last one at the end.
    pub samples: Vec<u64>,
}

impl Growth {
    /// Resident bytes at the end.
    pub fn end(&self) -> u64 {
        self.samples.last().copied().unwrap_or(self.warm)
    }

    /// Growth from the warm-up to the end, in percent.
    pub fn percent(&self) -> f64 {
        if self.warm == 0 {
            return 0.0;
        }
        (self.end() as f64 - self.warm as f64) / self.warm as f64 * 100.0
    }

    /// As JSON (what the probe prints).
    pub fn to_json(&self) -> Value {
        json!({"warm": self.warm, "samples": self.samples})
    }

    /// From the probe's JSON.
    pub fn from_json(value: &Value) -> Option<Growth> {
        Some(Growth {
            warm: value["warm"].as_u64()?,
            samples: value["samples"]
                .as_array()?
                .iter()
                .map(Value::as_u64)
                .collect::<Option<_>>()?,
        })
    }
}

/// Runs `warmup` cycles, notes the resident size, runs `cycles` more noting it every tenth.
pub fn probe(cycle: Cycle, warmup: usize, cycles: usize) -> Growth {
    for _ in 0..warmup {
        cycle.run();
    }
    // Let the engine finish closing the pools of the dropped instances.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let warm = resident_bytes();
    let step = (cycles / 10).max(1);
    let mut samples = Vec::new();
    for i in 1..=cycles {
        cycle.run();
        if i % step == 0 || i == cycles {
            if i == cycles {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            samples.push(resident_bytes());
        }
    }
    Growth { warm, samples }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_is_the_change_from_warm_to_the_last_sample_in_percent() {
        let g = Growth {
            warm: 1000,
            samples: vec![1010, 990, 1040],
        };
        assert!((g.percent() - 4.0).abs() < 1e-9);
        assert_eq!(Growth::from_json(&g.to_json()), Some(g));
        assert_eq!(Cycle::from_name("instances"), Some(Cycle::Instance));
    }
}
