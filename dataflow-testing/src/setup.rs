//! What a test database holds before the test's models: migrations, a setup function and
//! SQL fixture files, applied once to a template that each test's database is copied or
//! cloned from.

use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use dataflow::{Backend, DataFlow, ModelSchema};

use crate::error::{Error, Result};

/// A stable fingerprint of a schema set: same models, same DDL, same name, across runs.
pub(crate) fn fingerprint<S: Borrow<ModelSchema>>(backend: Backend, schemas: &[S]) -> u64 {
    // FNV-1a: stable across Rust versions and processes, unlike `DefaultHasher`.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |bytes: &[u8]| {
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(env!("CARGO_PKG_VERSION").as_bytes());
    for schema in schemas {
        feed(schema.borrow().create_table_sql(backend).as_bytes());
        feed(b";");
    }
    hash & 0x7fff_ffff_ffff_ffff
}

/// A function run once on a template database after its migrations: roles, extensions,
/// another tool's migrations. Made by [`IntoSetup`] from a `fn(&DataFlow) ->
/// dataflow::Result<()>` or an `async fn(DataFlow) -> dataflow::Result<()>`.
pub type SetupFn = dyn Fn(DataFlow) -> SetupFuture + Send + Sync;

/// What a [`SetupFn`] returns.
pub type SetupFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = dataflow::Result<()>> + Send>>;

/// A setup function, synchronous or asynchronous: `fn(&DataFlow) -> dataflow::Result<()>`
/// (use the `_blocking` raw SQL methods) or `async fn(DataFlow) -> dataflow::Result<()>`.
/// Either gets an instance on the template; [`DataFlow::connect_url`] gives a URL for a
/// connection of its own. `Marker` only tells the two kinds apart.
pub trait IntoSetup<Marker>: Send + Sync + 'static {
    /// The function as a [`SetupFn`].
    fn into_setup(self) -> Arc<SetupFn>;
}

/// [`IntoSetup`] marker of a synchronous setup function.
#[derive(Debug)]
pub enum Blocking {}

/// [`IntoSetup`] marker of an asynchronous setup function.
#[derive(Debug)]
pub enum Async {}

impl<F> IntoSetup<Blocking> for F
where
    F: Fn(&DataFlow) -> dataflow::Result<()> + Send + Sync + 'static,
{
    fn into_setup(self) -> Arc<SetupFn> {
        Arc::new(move |db: DataFlow| -> SetupFuture { Box::pin(std::future::ready(self(&db))) })
    }
}

impl<F, Fut> IntoSetup<Async> for F
where
    F: Fn(DataFlow) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = dataflow::Result<()>> + Send + 'static,
{
    fn into_setup(self) -> Arc<SetupFn> {
        Arc::new(move |db: DataFlow| -> SetupFuture { Box::pin(self(db)) })
    }
}

/// Migrations, setup function and fixture files of a test database.
#[derive(Clone, Default)]
pub(crate) struct DatabaseSetup {
    pub(crate) migrations: Option<PathBuf>,
    pub(crate) fixtures: Vec<PathBuf>,
    /// The function and its name (the template key: stable across runs).
    pub(crate) setup: Option<(String, Arc<SetupFn>)>,
    /// [`key`](Self::key), computed once by [`prepared`](Self::prepared).
    pub(crate) key: u64,
}

impl fmt::Debug for DatabaseSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSetup")
            .field("migrations", &self.migrations)
            .field("fixtures", &self.fixtures)
            .field("setup", &self.setup.as_ref().map(|(name, _)| name))
            .finish()
    }
}

impl DatabaseSetup {
    pub(crate) fn is_empty(&self) -> bool {
        self.migrations.is_none() && self.fixtures.is_empty() && self.setup.is_none()
    }

    /// The setup with its key computed: reads every file now, so that a missing one is an
    /// error before any database is made.
    pub(crate) fn prepared(mut self) -> Result<Arc<DatabaseSetup>> {
        self.key = self.key()?;
        Ok(Arc::new(self))
    }

    /// A key that changes when a migration file, a fixture file or the setup function's
    /// name does: templates built from one key hold the same data.
    pub(crate) fn key(&self) -> Result<u64> {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        if let Some(dir) = &self.migrations {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|source| io(dir, source))?
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "sql"))
                .collect();
            files.sort();
            for file in files {
                file.file_name().hash(&mut hasher);
                read(&file)?.hash(&mut hasher);
            }
        }
        for file in &self.fixtures {
            file.hash(&mut hasher);
            read(file)?.hash(&mut hasher);
        }
        self.setup.as_ref().map(|(name, _)| name).hash(&mut hasher);
        Ok(hasher.finish())
    }

    /// Applies the migrations, then the setup function, then each fixture file, to the
    /// database at `url`.
    pub(crate) async fn apply(&self, url: &str) -> Result<()> {
        let mut builder = DataFlow::builder(url);
        if let Some(dir) = &self.migrations {
            builder = builder.migrations(dir);
        }
        let db = builder.build()?;
        let done = async {
            db.ping().await?;
            if let Some((_, setup)) = &self.setup {
                setup(db.clone()).await?;
            }
            for file in &self.fixtures {
                load_fixture(&db, file).await?;
            }
            Ok(())
        }
        .await;
        db.close().await;
        done
    }
}

/// Runs the statements of a fixture file one by one, naming the file and the line of a
/// statement that fails.
async fn load_fixture(db: &DataFlow, file: &Path) -> Result<()> {
    let text = read(file)?;
    for (line, statement) in statements(&text) {
        if let Err(e) = db.execute_sql(statement, &[]).await {
            return Err(Error::SqlFixture {
                file: file.display().to_string(),
                line,
                reason: match e {
                    dataflow::Error::Sql { reason, .. } => reason,
                    other => other.to_string(),
                },
            });
        }
    }
    Ok(())
}

/// The statements of a SQL file with the line each starts on: split at `;` outside quotes
/// and comments.
pub(crate) fn statements(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    // Where the current statement begins (byte, line): its first character that is not
    // blank or a comment.
    let mut begin: Option<(usize, usize)> = None;
    let mut line = 1;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\n' => line += 1,
            '-' if chars.peek().is_some_and(|(_, d)| *d == '-') => {
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            ';' => {
                if let Some((at, first_line)) = begin.take() {
                    out.push((first_line, text[at..i].trim()));
                }
            }
            '\'' | '"' | '`' => {
                begin.get_or_insert((i, line));
                for (_, d) in chars.by_ref() {
                    if d == '\n' {
                        line += 1;
                    }
                    if d == c {
                        break;
                    }
                }
            }
            c if !c.is_whitespace() => {
                begin.get_or_insert((i, line));
            }
            _ => {}
        }
    }
    if let Some((at, first_line)) = begin {
        out.push((first_line, text[at..].trim()));
    }
    out
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| io(path, source))
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Where a fixture file named in `#[dataflow_fixture(fixtures(..))]` is, as sqlx::test
/// looks for it: a path from the crate's directory, `fixtures/` beside the test file, or
/// the crate's `tests/fixtures/`. `source_file` is the test's `file!()`.
pub(crate) fn find_fixture(manifest_dir: &str, source_file: &str, name: &str) -> Result<PathBuf> {
    let manifest = Path::new(manifest_dir);
    let beside = Path::new(source_file)
        .parent()
        .map(|dir| dir.join("fixtures").join(name));
    // `file!()` is relative to the workspace root for a workspace member: try it from the
    // crate's directory and from each of its parents.
    let mut candidates = vec![manifest.join(name)];
    if let Some(beside) = &beside {
        candidates.extend(manifest.ancestors().map(|dir| dir.join(beside)));
    }
    candidates.push(manifest.join("tests").join("fixtures").join(name));
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or_else(|| Error::FixtureMissing {
            name: name.to_owned(),
            searched: candidates.iter().map(|p| p.display().to_string()).collect(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_comments_with_their_lines() {
        let text = "-- users; a comment\nINSERT INTO users VALUES (1, 'a;b');\n\n\
                    INSERT INTO users\n  VALUES (2, \"x\");\nDELETE FROM t";
        assert_eq!(
            statements(text),
            [
                (2, "INSERT INTO users VALUES (1, 'a;b')"),
                (4, "INSERT INTO users\n  VALUES (2, \"x\")"),
                (6, "DELETE FROM t"),
            ]
        );
    }
}
