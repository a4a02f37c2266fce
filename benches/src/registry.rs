//! The node registry: `cleanup_nodes()` of an instance with 100 models (1,000 nodes), an
//! uncontended lookup against a plain `HashMap` get, and lookups from two threads against
//! one.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use dataflow::{DataFlow, ModelSchema, Node, NodeRegistry};

use crate::harness::{timed, Workload};
use crate::models::many_models;

/// How many models the registry workloads register (ten nodes each).
pub const REGISTRY_MODELS: usize = 100;

/// `cleanup_nodes()` of an instance holding [`REGISTRY_MODELS`] models. Registering them is
/// set-up; only the cleanup is timed.
#[derive(Debug)]
pub struct Cleanup {
    models: Vec<ModelSchema>,
}

impl Cleanup {
    /// 100 distinct models `Clean0` .. `Clean99`.
    pub fn new() -> Cleanup {
        Cleanup {
            models: many_models("Clean", REGISTRY_MODELS),
        }
    }

    /// Registers the models on a fresh instance, times its `cleanup_nodes()`, drops it.
    pub fn run(&self) -> Duration {
        let db = DataFlow::new("sqlite::memory:").expect("an instance");
        for model in &self.models {
            db.register_model(model.clone()).expect("register");
        }
        let mut removed = 0;
        let time = timed(|| removed = db.cleanup_nodes());
        assert_eq!(removed, REGISTRY_MODELS * 10);
        drop(db);
        time
    }
}

impl Default for Cleanup {
    fn default() -> Self {
        Self::new()
    }
}

/// A registry holding [`REGISTRY_MODELS`] models' nodes, their names, and the same nodes
/// in a plain `HashMap`.
pub struct Lookups {
    db: DataFlow,
    names: Vec<String>,
    map: HashMap<String, Arc<dyn Node>>,
    /// How many lookups one timed run makes (per thread).
    rounds: usize,
}

impl std::fmt::Debug for Lookups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lookups")
            .field("db", &self.db)
            .field("names", &self.names.len())
            .field("rounds", &self.rounds)
            .finish()
    }
}

impl Lookups {
    /// Registers 100 models (`Look0` ..) and collects their 1,000 node names; each timed run
    /// looks every name up `rounds` times.
    pub fn new(rounds: usize) -> Lookups {
        let db = DataFlow::new("sqlite::memory:").expect("an instance");
        for model in many_models("Look", REGISTRY_MODELS) {
            db.register_model(model).expect("register");
        }
        let names = db.nodes();
        let registry = NodeRegistry::global();
        let map = names
            .iter()
            .map(|n| (n.clone(), registry.get(n).expect("registered")))
            .collect();
        Lookups {
            db,
            names,
            map,
            rounds,
        }
    }

    /// How many lookups one timed run makes (per thread).
    pub fn per_run(&self) -> usize {
        self.names.len() * self.rounds
    }

    /// `NodeRegistry::global().get(name)` for every name, `rounds` times, starting at name
    /// `offset`.
    pub fn registry_gets(&self, offset: usize) {
        let registry = NodeRegistry::global();
        let n = self.names.len();
        for _ in 0..self.rounds {
            for i in 0..n {
                black_box(registry.get(black_box(&self.names[(i + offset) % n])));
            }
        }
    }

    /// A plain `HashMap` get for every name, `rounds` times.
    pub fn map_gets(&self) {
        let n = self.names.len();
        for _ in 0..self.rounds {
            for i in 0..n {
                black_box(self.map.get(black_box(&self.names[i % n])));
            }
        }
    }

    /// Wall time of `threads` threads each running [`registry_gets`](Self::registry_gets)
    /// at once (each from its own offset), from a common start to the last one done.
    pub fn threads(&self, threads: usize) -> Duration {
        self.in_threads(threads, |t| {
            self.registry_gets(t * self.names.len() / threads.max(1))
        })
    }

    /// [`threads`](Self::threads) with [`map_gets`](Self::map_gets): what the machine gives
    /// a read-only loop of plain `HashMap` gets on more threads.
    pub fn map_threads(&self, threads: usize) -> Duration {
        self.in_threads(threads, |_| self.map_gets())
    }

    /// Wall time of `threads` threads each running `work(thread)` at once, from a common
    /// start to the last one done.
    fn in_threads(&self, threads: usize, work: impl Fn(usize) + Sync) -> Duration {
        let start = Barrier::new(threads + 1);
        std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let (start, work) = (&start, &work);
                    s.spawn(move || {
                        start.wait();
                        work(t);
                    })
                })
                .collect();
            start.wait();
            let began = Instant::now();
            for w in workers {
                w.join().expect("a lookup thread");
            }
            began.elapsed()
        })
    }
}

/// Uncontended registry lookups against `HashMap` gets; each run is [`Lookups::per_run`]
/// lookups.
#[derive(Debug)]
pub struct Lookup(pub Lookups);

impl Workload for Lookup {
    fn ours(&mut self) -> Duration {
        timed(|| self.0.registry_gets(0))
    }

    fn baseline(&mut self) -> Duration {
        timed(|| self.0.map_gets())
    }
}

/// Registry lookups from two threads at once (ours) against one thread (baseline), each
/// thread making [`Lookups::per_run`] lookups.
#[derive(Debug)]
pub struct TwoThreads(pub Lookups);

impl Workload for TwoThreads {
    fn ours(&mut self) -> Duration {
        self.0.threads(2)
    }

    fn baseline(&mut self) -> Duration {
        self.0.threads(1)
    }
}

/// `HashMap` gets from two threads at once (ours) against one thread (baseline): the
/// floor of [`TwoThreads`], what two threads of a read-only loop gain on this machine.
#[derive(Debug)]
pub struct MapTwoThreads(pub Lookups);

impl Workload for MapTwoThreads {
    fn ours(&mut self) -> Duration {
        self.0.map_threads(2)
    }

    fn baseline(&mut self) -> Duration {
        self.0.map_threads(1)
    }
}
