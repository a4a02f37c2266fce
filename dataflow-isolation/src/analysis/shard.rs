//! A check shared between machines: `--partition k/n` makes share k of the single-test
//! runs and orders and writes what it saw (a [`Shard`]) to `--json`; `--merge` reads every
//! shard's file, builds the tests again, and explains the combined evidence as one check
//! would (the probes the findings need run there), into the same table, JSON and graph.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::check::{self, Facts};
use super::evidence::Evidence;
use super::findings::{Report, Timing};
use crate::runner::progress::Progress;
use crate::runner::{RunCounts, Runner};
use crate::{Error, Options, Partition};

/// The seed of a partitioned check when `--seed` is not given: every shard must use the
/// same one.
pub(crate) const SEED: u64 = 1;

/// What names a shard file, with its version.
const FORMAT: &str = "dataflow-isolation shard v1";

/// What one shard saw.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Shard {
    format: String,
    partition: Partition,
    seed: u64,
    rounds: u32,
    pairs: bool,
    /// What was checked: the same on every shard.
    manifest_path: Option<std::path::PathBuf>,
    packages: Vec<String>,
    workspace: bool,
    cargo_flags: Vec<String>,
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    /// The test binaries, by label, in the order of `evidence`.
    binaries: Vec<String>,
    evidence: Vec<Evidence>,
    runs: RunCounts,
    timing: Timing,
    notes: Vec<String>,
}

/// Writes this shard's file and returns a report that says so.
pub(crate) fn write(
    runner: &Runner<'_>,
    partition: Partition,
    evidence: &[Evidence],
    facts: Facts,
) -> Result<Report, Error> {
    let options = runner.options;
    let path = options.json.as_deref().expect("checked by run");
    let timing = facts.timing(runner, evidence);
    let mut notes = facts.notes;
    notes.extend(runner.notes());
    let shard = Shard {
        format: FORMAT.into(),
        partition,
        seed: facts.seed,
        rounds: options.rounds,
        pairs: options.pairs,
        manifest_path: options.manifest_path.clone(),
        packages: options.packages.clone(),
        workspace: options.workspace,
        cargo_flags: options.cargo_flags.clone(),
        filters: options.filters.clone(),
        skip: options.skip.clone(),
        exact: options.exact,
        binaries: runner.binaries.iter().map(|b| b.label()).collect(),
        evidence: evidence.to_vec(),
        runs: runner.counts(),
        timing: timing.clone(),
        notes: notes.clone(),
    };
    let text = serde_json::to_string(&shard).expect("a shard is plain data");
    std::fs::write(path, text).map_err(|source| Error::Io {
        what: format!("write {}", path.display()),
        source,
    })?;
    notes.push(format!(
        "shard {partition}: its evidence is in {}; `--merge` every shard's file for the findings",
        path.display()
    ));
    Ok(Report {
        seed: facts.seed,
        rounds: options.rounds,
        binaries: Vec::new(),
        tests: runner.binaries.iter().map(|b| b.tests.len()).sum(),
        findings: Vec::new(),
        clean: Vec::new(),
        runs: shard.runs,
        timing,
        orders: Vec::new(),
        notes,
        partition: Some(partition),
    })
}

/// Reads the shards' files, checks that they belong together, and explains their
/// combined evidence as one check would.
pub(crate) fn merge(cli: &Options) -> Result<Report, Error> {
    let started = Instant::now();
    let mut shards = cli
        .merge
        .iter()
        .map(|path| read(path))
        .collect::<Result<Vec<Shard>, Error>>()?;
    shards.sort_by_key(|s| s.partition.part);
    let first = &shards[0];
    let parts: BTreeSet<usize> = shards.iter().map(|s| s.partition.part).collect();
    let of = first.partition.of;
    if parts.len() != shards.len() || parts != (1..=of).collect() {
        return Err(Error::Usage(format!(
            "--merge wants each of the {of} shards once; got parts {:?}",
            shards.iter().map(|s| s.partition.part).collect::<Vec<_>>()
        )));
    }
    for shard in &shards[1..] {
        let same = shard.partition.of == of
            && shard.seed == first.seed
            && shard.rounds == first.rounds
            && shard.pairs == first.pairs
            && shard.binaries == first.binaries
            && shard.filters == first.filters
            && shard.cargo_flags == first.cargo_flags;
        if !same {
            return Err(Error::Usage(format!(
                "shard {} was not made with the same options (seed, rounds, --pairs, filters, \
                 cargo flags, test binaries) as shard {}: make every shard with one command \
                 line but for --partition",
                shard.partition, first.partition
            )));
        }
    }
    let mut options = cli.clone();
    options.merge = Vec::new();
    options.manifest_path = first.manifest_path.clone();
    options.packages = first.packages.clone();
    options.workspace = first.workspace;
    options.cargo_flags = first.cargo_flags.clone();
    options.filters = first.filters.clone();
    options.skip = first.skip.clone();
    options.exact = first.exact;
    options.rounds = first.rounds;
    options.pairs = first.pairs;
    options.seed = Some(first.seed);

    let progress = Progress::new(options.progress);
    let (binaries, build_secs) = check::find_tests(&options, &progress)?;
    let labels: Vec<String> = binaries.iter().map(|b| b.label()).collect();
    if labels != first.binaries {
        return Err(Error::Usage(format!(
            "the shards checked the test binaries {:?}, this workspace builds {labels:?}",
            first.binaries
        )));
    }
    let mut evidence = first.evidence.clone();
    let mut earlier = RunCounts::default();
    let mut notes = Vec::new();
    for shard in &shards {
        earlier.add_all(&shard.runs);
        notes.extend(shard.notes.iter().cloned());
        if shard.partition.part == 1 {
            continue;
        }
        for (into, from) in evidence.iter_mut().zip(&shard.evidence) {
            into.solo.extend(from.solo.clone());
            into.orders.extend(from.orders.iter().cloned());
            if into.baseline.is_none() {
                into.baseline.clone_from(&from.baseline);
            }
        }
    }
    notes.sort();
    notes.dedup();
    notes.push(format!(
        "merged {} shards; the probes the findings needed ran here",
        shards.len()
    ));
    let mut notes_then = Vec::new();
    let databases = check::databases(&mut notes_then);
    let runner = Runner::new(&options, &binaries, databases, &progress)?;
    let facts = Facts {
        seed: first.seed,
        build_secs,
        started,
        check_started: Instant::now(),
        notes,
    };
    let mut report = check::conclude(&runner, &evidence, facts, earlier)?;
    // Wall time: the slowest shard, then this merge.
    let slowest = shards
        .iter()
        .map(|s| s.timing.check_secs)
        .fold(0.0, f64::max);
    report.timing.check_secs += slowest;
    Ok(report)
}

fn read(path: &Path) -> Result<Shard, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: format!("read {}", path.display()),
        source,
    })?;
    let shard: Shard = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{} is not the JSON of an isolation-check shard (--partition k/n --json FILE): {e}",
            path.display()
        ))
    })?;
    if shard.format != FORMAT {
        return Err(Error::Usage(format!(
            "{} is a shard of another version (`{}`, this is `{FORMAT}`)",
            path.display(),
            shard.format
        )));
    }
    Ok(shard)
}
