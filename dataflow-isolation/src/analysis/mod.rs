//! The third layer: which runs to make and what they show. [`check`] drives a check
//! (build, runs alone and in orders); [`classify`] turns runs into findings and hands
//! each change of outcome to [`investigate`] (trace first, then probes and bisection,
//! with [`probe`]) and, for a victim, to [`cleaners`];
//! [`evidence`] holds the runs of a binary, [`findings`] what was found, [`orders`] the
//! shuffle seeds.

pub(crate) mod check;
pub(crate) mod classify;
pub(crate) mod cleaners;
pub(crate) mod evidence;
pub(crate) mod findings;
pub(crate) mod investigate;
pub(crate) mod orders;
pub(crate) mod probe;
pub(crate) mod shard;

pub use self::check::run;
pub use self::findings::{
    BinaryReport, Finding, FindingKind, FoundBy, OrderRun, Report, Reproduce, Timing,
};
