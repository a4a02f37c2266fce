//! The isolation check end to end: on the planted suite (`tests/planted`) it finds exactly
//! the planted bugs, classifies each right and reports nothing for the clean tests; on the
//! copies of published crates' suites (`tests/real`: dotenvy, tempfile, lazy_static) it
//! reports nothing as published and exactly what each mutation broke; bad input gives a
//! clear error or a finding, never a panic or a hang.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dataflow_isolation::{self as isolation, Error, FindingKind, FoundBy, Options, CHECK_ENV};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("dataflow-isolation sits in the workspace")
        .to_path_buf()
}

/// Options for a check of `manifest`, quiet, building into `target_dir` (by default the
/// workspace's, so the planted suite shares its dependencies' builds).
fn options(manifest: &Path, target_dir: Option<&Path>) -> Options {
    let mut options = Options::default();
    options.manifest_path = Some(manifest.to_path_buf());
    options.progress = false;
    let default_target = workspace().join("target");
    let target_dir = target_dir.or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .is_none()
            .then_some(default_target.as_path())
    });
    if let Some(dir) = target_dir {
        options.cargo_flags = vec!["--target-dir".into(), dir.display().to_string()];
    }
    options
}

/// Under `cargo xtask isolation-check` itself, these tests would run the check inside the
/// check, once per run: they step aside.
fn inside_a_check() -> bool {
    std::env::var_os(CHECK_ENV).is_some()
}

const POLLUTER: &str = "registry::polluter_keeps_widget_instance_in_a_static";
const VICTIM: &str = "registry::victim_counts_widgets_through_unbound_workflow";
const FILE_POLLUTER: &str = "shared_file::polluter_writes_a_ledger_row_and_keeps_the_file";
const FILE_VICTIM: &str = "shared_file::victim_expects_an_empty_ledger";
const SETTER: &str = "state::setter_registers_setting_nodes";
const BRITTLE: &str = "state::brittle_reads_the_theme_setting_registered_elsewhere";
const TEMP_FILE_LEAKER: &str = "leaks::leaves_a_temp_file";
const REGISTRY_LEAKER: &str = "leaks::forgets_an_instance_with_its_nodes";
const LATENT_WRITER: &str = "latent::writer_keeps_a_tag_instance_alive";
const LATENT_READER: &str = "latent::reader_uses_tag_nodes_if_registered";
const ALWAYS_FAILS: &str = "plain::always_fails";
const CLEAN: [&str; 4] = [
    "clean::arithmetic_still_works",
    "clean::bound_workflow_creates_and_reads_a_note",
    "clean::temp_file_is_removed_after_use",
    "clean::two_instances_keep_their_own_notes",
];

#[test]
fn the_check_finds_every_planted_bug_and_nothing_else() {
    if inside_a_check() {
        return;
    }
    let mut options = options(&workspace().join("tests/planted/Cargo.toml"), None);
    options.rounds = 2;
    options.seed = Some(11);
    let report = isolation::run(&options).expect("the check runs on the planted suite");
    let table = report.render();
    println!("{table}");

    use FindingKind::*;
    let found: BTreeSet<(FindingKind, &str, Option<&str>, FoundBy)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.test.as_str(), f.related.as_deref(), f.found_by))
        .collect();
    let expected: BTreeSet<(FindingKind, &str, Option<&str>, FoundBy)> = [
        // Through the registry: the trace names the polluter.
        (Victim, VICTIM, Some(POLLUTER), FoundBy::Trace),
        (Polluter, POLLUTER, Some(VICTIM), FoundBy::Trace),
        // Through a file: the trace is silent; the test that ran right before it in a
        // flipped order is probed first (a pair run), and it is the one.
        (Victim, FILE_VICTIM, Some(FILE_POLLUTER), FoundBy::Probe),
        (Polluter, FILE_POLLUTER, Some(FILE_VICTIM), FoundBy::Probe),
        (Brittle, BRITTLE, Some(SETTER), FoundBy::Trace),
        (StateSetter, SETTER, Some(BRITTLE), FoundBy::Trace),
        (Leaker, TEMP_FILE_LEAKER, None, FoundBy::SoloRun),
        (Leaker, REGISTRY_LEAKER, None, FoundBy::SoloRun),
        // What makes a polluter, a setter or a latent writer is state it leaves behind.
        (Leaker, POLLUTER, None, FoundBy::SoloRun),
        (Leaker, FILE_POLLUTER, None, FoundBy::SoloRun),
        (Leaker, SETTER, None, FoundBy::SoloRun),
        (Leaker, LATENT_WRITER, None, FoundBy::SoloRun),
        (
            LatentAccess,
            LATENT_READER,
            Some(LATENT_WRITER),
            FoundBy::Trace,
        ),
        (PlainFailure, ALWAYS_FAILS, None, FoundBy::Orders),
    ]
    .into();
    assert_eq!(found, expected, "\n{table}");
    assert_eq!(report.clean, CLEAN, "\n{table}");
    assert_eq!(report.exit_code(), 1);
    assert_eq!(report.isolation_findings().count(), 13);

    // What each leaker left, and the evidence a reader needs.
    let finding = |kind: FindingKind, test: &str| {
        report
            .findings
            .iter()
            .find(|f| f.kind == kind && f.test == test)
            .unwrap_or_else(|| panic!("no {kind:?} finding for {test}"))
    };
    let text = |kind, test| finding(kind, test).evidence.join("\n");
    assert!(text(Leaker, TEMP_FILE_LEAKER).contains("planted-leftover.txt"));
    assert!(text(Leaker, FILE_POLLUTER).contains("planted-shared-ledger.txt"));
    assert!(text(Leaker, REGISTRY_LEAKER).contains("OrphanBulkCreateNode@df_"));
    assert!(text(Victim, VICTIM).contains("resolved WidgetCreateNode@df_"));
    assert!(text(Brittle, BRITTLE).contains("resolved SettingReadNode@df_"));
    assert!(text(LatentAccess, LATENT_READER).contains("TagCreateNode@df_"));
    // Every finding says how to reproduce it, and a pair is reproduced by a pair run.
    // ... each in a fresh TMPDIR, so what a polluter left in /tmp cannot spoil the next.
    for f in &report.findings {
        assert!(
            f.reproduce
                .iter()
                .all(|r| r.command.contains("cargo test") && r.command.contains("TMPDIR=$")),
            "{f:?}"
        );
    }
    let pair = &finding(Victim, FILE_VICTIM).reproduce[0].command;
    assert!(
        pair.contains(&format!("--exact {FILE_POLLUTER} {FILE_VICTIM}")),
        "{pair}"
    );

    // Output: the table, the graph, the JSON.
    assert!(
        table.contains("FINDING") && table.contains("cost:"),
        "{table}"
    );
    let dot = report.graph_dot();
    assert!(
        dot.contains(&format!("\"{POLLUTER}\" -> \"{VICTIM}\"")),
        "{dot}"
    );
    assert!(
        dot.contains(&format!("\"{SETTER}\" -> \"{BRITTLE}\"")),
        "{dot}"
    );
    assert!(report.graph_mermaid().contains("-->|pollutes|"));
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(
        json["findings"].as_array().unwrap().len(),
        report.findings.len()
    );
    assert_eq!(json["findings"][0]["kind"], "victim");

    // Cost: extra runs only where the findings need them.
    let runs = &report.runs;
    assert_eq!((runs.plain, runs.solo, runs.orders), (1, 15, 4));
    // The clean tests left nothing alone: so the binary by itself leaves nothing, and no
    // run of no test is needed to tell.
    assert_eq!(runs.baseline, 0, "{runs:?}");
    assert!(runs.probes <= 8, "{runs:?}");
    eprintln!(
        "isolation check of the planted suite: {} test-binary runs in {:.1}s, against {:.2}s for \
         one plain run of the suite",
        runs.total(),
        report.timing.check_secs,
        report.timing.plain_secs
    );
}

const MODE_SETTERS: [&str; 3] = [
    "mode::tests::a_bench_profile_sets_fast_mode",
    "mode::tests::b_ci_profile_sets_fast_mode",
    "mode::tests::c_release_profile_sets_fast_mode",
];
const MODE_BRITTLE: &str = "mode::tests::reads_the_mode_a_profile_set";
const PROXY_POLLUTERS: [&str; 2] = [
    "proxy::tests::a_http_client_uses_the_proxy",
    "proxy::tests::b_https_client_uses_the_proxy",
];
const PROXY_CLEANER: &str = "proxy::tests::c_resets_proxy_settings";
const PROXY_VICTIM: &str = "proxy::tests::direct_connection_expects_no_proxy";

/// Without a registry trace (the suite shares environment variables and does not use the
/// toolkit), probing finds every setter, every polluter, and the cleaner.
#[test]
fn without_a_trace_probing_finds_every_setter_polluter_and_the_cleaner() {
    if inside_a_check() {
        return;
    }
    let mut options = options(&workspace().join("tests/planted-env/Cargo.toml"), None);
    options.seed = Some(11);
    options.pairs = true;
    let report = isolation::run(&options).expect("the check runs on the planted env suite");
    let table = report.render();
    println!("{table}");
    use FindingKind::*;
    let found: BTreeSet<(FindingKind, &str, Option<&str>)> = report
        .findings
        .iter()
        .map(|f| (f.kind, f.test.as_str(), f.related.as_deref()))
        .collect();
    let mut expected: BTreeSet<(FindingKind, &str, Option<&str>)> = BTreeSet::new();
    let brittle = report
        .findings
        .iter()
        .find(|f| f.kind == Brittle)
        .expect("a brittle finding");
    expected.insert((Brittle, MODE_BRITTLE, brittle.related.as_deref()));
    for setter in MODE_SETTERS {
        expected.insert((StateSetter, setter, Some(MODE_BRITTLE)));
    }
    let victim = report
        .findings
        .iter()
        .find(|f| f.kind == Victim)
        .expect("a victim finding");
    expected.insert((Victim, PROXY_VICTIM, victim.related.as_deref()));
    for polluter in PROXY_POLLUTERS {
        expected.insert((Polluter, polluter, Some(PROXY_VICTIM)));
    }
    expected.insert((Cleaner, PROXY_CLEANER, Some(PROXY_VICTIM)));
    assert_eq!(found, expected, "\n{table}");
    let sorted = |names: &[String]| {
        let mut names: Vec<String> = names.to_vec();
        names.sort();
        names
    };
    assert_eq!(sorted(&brittle.all_related), MODE_SETTERS, "\n{table}");
    assert_eq!(sorted(&victim.all_related), PROXY_POLLUTERS, "\n{table}");
    assert!(
        brittle.summary.contains("any of 3 tests"),
        "{}",
        brittle.summary
    );
    let cleaner = report.findings.iter().find(|f| f.kind == Cleaner).unwrap();
    assert!(
        cleaner.reproduce[0].command.contains(PROXY_CLEANER),
        "{cleaner:?}"
    );
    assert!(report.binaries.iter().all(|b| !b.traced), "no trace here");
    assert!(
        table.contains("probing: "),
        "the runs tried are counted:\n{table}"
    );
}

/// Two shards (`--partition 1/2`, `2/2`) and `--merge` give the findings one run gives.
#[test]
fn shards_merged_give_the_findings_of_one_run() {
    if inside_a_check() {
        return;
    }
    let manifest = workspace().join("tests/planted-env/Cargo.toml");
    let mut one = options(&manifest, None);
    one.seed = Some(5);
    // The proxy tests race when they run in parallel (a planted race, found only when the
    // timing shows it): one run may see it where another does not. The mode tests' findings
    // are the same every time, which is what comparing the runs needs.
    one.skip = vec!["proxy::".to_owned()];
    let single = isolation::run(&one).expect("one run");
    assert!(!single.findings.is_empty(), "{}", single.render());
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for part in 1..=2 {
        let mut shard = one.clone();
        shard.partition = Some(format!("{part}/2").parse().unwrap());
        let file = dir.path().join(format!("shard{part}.json"));
        shard.json = Some(file.clone());
        let report = isolation::run(&shard).expect("a shard runs");
        assert!(report.findings.is_empty() && report.partition.is_some());
        assert!(report.runs.solo < single.runs.solo, "{:?}", report.runs);
        files.push(file);
    }
    let mut merge = options(&manifest, None);
    merge.merge = files.clone();
    let merged = isolation::run(&merge).expect("the shards merge");
    let key = |r: &isolation::Report| {
        r.findings
            .iter()
            .map(|f| {
                let mut all = f.all_related.clone();
                all.sort();
                (f.kind, f.test.clone(), all)
            })
            .collect::<BTreeSet<_>>()
    };
    assert_eq!(
        key(&merged),
        key(&single),
        "\n{}\n{}",
        merged.render(),
        single.render()
    );
    assert_eq!(
        merged.runs.solo, single.runs.solo,
        "every test ran alone once"
    );
    assert_eq!(merged.clean, single.clean);

    // The same shard twice is an error that says what is wrong.
    merge.merge = vec![files[0].clone(), files[0].clone()];
    let err = isolation::run(&merge).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
    assert!(
        err.to_string().contains("each of the 2 shards once"),
        "{err}"
    );
}

/// The check of the copy of a published crate in `tests/real/<name>`, with `feature` (a
/// mutation) or as published: the report, and its findings as (kind, test, related) with
/// `module` taken off the test names.
fn check_real_suite(
    name: &str,
    feature: Option<&str>,
    module: &str,
) -> (
    isolation::Report,
    BTreeSet<(FindingKind, String, Option<String>)>,
) {
    let manifest = workspace().join("tests/real").join(name).join("Cargo.toml");
    let mut options = options(&manifest, None);
    options.seed = Some(11);
    if let Some(feature) = feature {
        options
            .cargo_flags
            .extend(["--features".into(), feature.into()]);
    }
    let report = isolation::run(&options).unwrap_or_else(|e| panic!("the check of {name}: {e}"));
    let short = |t: &str| t.trim_start_matches(module).to_owned();
    let found = report
        .findings
        .iter()
        .map(|f| (f.kind, short(&f.test), f.related.as_deref().map(short)))
        .collect();
    (report, found)
}

/// Each victim paired with its one polluter, both ways, as the report gives them.
fn victims_of(polluter: &str, victims: &[&str]) -> BTreeSet<(FindingKind, String, Option<String>)> {
    let mut expected = BTreeSet::new();
    for victim in victims {
        let (victim, polluter) = (victim.to_string(), polluter.to_owned());
        expected.insert((FindingKind::Victim, victim.clone(), Some(polluter.clone())));
        expected.insert((FindingKind::Polluter, polluter, Some(victim)));
    }
    expected
}

/// A published crate's own suite (dotenvy 0.15.7, `tests/real/dotenvy`): its unit tests
/// share environment variables, its integration tests the current directory. As published,
/// nothing; with one realistic mutation each, exactly the tests it broke, with the right
/// setter or polluter.
#[test]
fn a_real_suite_is_clean_and_each_mutation_gives_exactly_what_it_broke() {
    if inside_a_check() {
        return;
    }
    const MODULE: &str = "parse::variable_substitution_tests::";
    let check = |feature| check_real_suite("dotenvy", feature, MODULE);
    use FindingKind::*;
    let (report, found) = check(None);
    assert!(found.is_empty(), "{}", report.render());
    assert_eq!(report.binaries.len(), 3, "{:?}", report.binaries);

    // The test lost the line that sets KEY11: it passes only after the test that sets it.
    let (report, found) = check(Some("mutant-removed-set"));
    let brittle = "substitute_variable_env_variable_overrides_dotenv_in_substitution";
    let setter = "substitute_variable_from_env_variable";
    let expected: BTreeSet<_> = [
        (Brittle, brittle.to_owned(), Some(setter.to_owned())),
        (StateSetter, setter.to_owned(), Some(brittle.to_owned())),
    ]
    .into();
    assert_eq!(found, expected, "{}", report.render());

    // The test leaks KEY2: the three tests that substitute an unset or file-defined KEY2
    // fail after it, and only those.
    let (report, found) = check(Some("mutant-leaked-var"));
    let expected = victims_of(
        "substitute_variable_from_env_variable",
        &[
            "consequent_substitutions",
            "consequent_substitutions_with_one_missing",
            "substitute_undefined_variables_to_empty_string",
        ],
    );
    assert_eq!(found, expected, "{}", report.render());
}

/// The copy `tests/real/<name>` of a published crate with `tests` tests: as published, no
/// findings and every test clean; with `mutant`, exactly each of `victims` after `polluter`
/// (and the rest clean).
fn assert_mutant_gives_victims(
    name: &str,
    tests: usize,
    mutant: &str,
    polluter: &str,
    victims: &[&str],
) {
    let (report, found) = check_real_suite(name, None, "");
    assert!(found.is_empty(), "{}", report.render());
    assert_eq!(report.clean.len(), tests, "{}", report.render());

    let (report, found) = check_real_suite(name, Some(mutant), "");
    assert_eq!(found, victims_of(polluter, victims), "{}", report.render());
    let broken = victims.len() + 1;
    assert_eq!(report.clean.len(), tests - broken, "{}", report.render());
}

/// tempfile 3.27.0's `namedtempfile` suite (`tests/real/tempfile`) shares the current
/// directory: the tests that change it hold a lock whose guard changes it back. As
/// published, nothing; when one test loses its guard, the current directory it leaves
/// behind (removed with its temporary directory) breaks exactly the three tests that take
/// the lock after it, each found with that test as its polluter.
#[test]
fn a_real_suite_sharing_the_current_directory() {
    if inside_a_check() {
        return;
    }
    assert_mutant_gives_victims(
        "tempfile",
        32,
        "mutant-unguarded-cwd",
        "test_temp_path_resolve_existing_cwd",
        &[
            "test_change_dir",
            "test_change_dir_make",
            "test_temp_path_resolve_missing_cwd",
        ],
    );
}

/// lazy_static 1.5.1's suite (`tests/real/lazy_static`) shares statics: a lazy static is
/// initialised by the first test that touches it, and `pre_init` checks that none did. As
/// published, nothing; when another test touches that static too (a global left set),
/// exactly `pre_init` fails after it.
#[test]
fn a_real_suite_sharing_a_static() {
    if inside_a_check() {
        return;
    }
    assert_mutant_gives_victims(
        "lazy_static",
        9,
        "mutant-early-init",
        "lifetime_name",
        &["pre_init"],
    );
}

#[test]
fn a_path_that_is_not_a_workspace_is_a_clear_error() {
    if inside_a_check() {
        return;
    }
    let missing = options(Path::new("/no/such/dir/Cargo.toml"), None);
    let err = isolation::run(&missing).unwrap_err();
    assert!(matches!(err, Error::Usage(_)), "{err}");
    assert!(err.to_string().contains("/no/such/dir/Cargo.toml"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("Cargo.toml"), "this is [not a manifest").unwrap();
    let err =
        isolation::run(&options(&dir.path().join("Cargo.toml"), Some(dir.path()))).unwrap_err();
    assert!(matches!(err, Error::Cargo { .. }), "{err}");
    assert!(err.to_string().contains("Cargo.toml"), "{err}");
}

#[test]
fn a_filter_that_matches_no_test_is_a_clear_error() {
    if inside_a_check() {
        return;
    }
    let mut options = options(&workspace().join("tests/planted/Cargo.toml"), None);
    options.filters = vec!["no_test_is_called_this".into()];
    let err = isolation::run(&options).unwrap_err();
    assert!(matches!(err, Error::NoTests(_)), "{err}");
    assert!(err.to_string().contains("no_test_is_called_this"), "{err}");
}

/// A crate of its own in a temporary directory, with `tests` as its `src/lib.rs`.
fn scratch_crate(tests: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"scratch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), tests).unwrap();
    dir
}

#[test]
fn a_suite_that_does_not_compile_is_a_clear_error() {
    if inside_a_check() {
        return;
    }
    let dir = scratch_crate("#[test]\nfn broken() { let x: u32 = \"not a number\"; }\n");
    let options = options(
        &dir.path().join("Cargo.toml"),
        Some(&dir.path().join("target")),
    );
    let err = isolation::run(&options).unwrap_err();
    let Error::DoesNotCompile { errors } = &err else {
        panic!("expected DoesNotCompile, got {err}");
    };
    assert!(errors.join("\n").contains("mismatched types"), "{err}");
}

#[test]
fn crashing_and_hanging_tests_are_findings_not_a_hang() {
    if inside_a_check() {
        return;
    }
    let dir = scratch_crate(
        "#[test]\nfn aborts() { std::process::abort() }\n\
         #[test]\nfn hangs() { std::thread::sleep(std::time::Duration::from_secs(600)) }\n\
         #[test]\nfn passes() {}\n",
    );
    let mut options = options(
        &dir.path().join("Cargo.toml"),
        Some(&dir.path().join("target")),
    );
    options.rounds = 1;
    options.timeout = Duration::from_secs(2);
    let start = Instant::now();
    let report = isolation::run(&options).expect("the check runs");
    assert!(
        start.elapsed() < Duration::from_secs(120),
        "{:?}",
        start.elapsed()
    );
    let table = report.render();
    let plain: Vec<(&str, &str)> = report
        .findings
        .iter()
        .map(|f| (f.kind.name(), f.test.as_str()))
        .collect();
    assert_eq!(
        plain,
        [("plain failure", "aborts"), ("plain failure", "hangs")],
        "\n{table}"
    );
    assert_eq!(report.clean, ["passes"], "\n{table}");
    assert!(table.contains("crashed (killed by signal 6"), "{table}");
    assert!(table.contains("timed out after 2s"), "{table}");
}
