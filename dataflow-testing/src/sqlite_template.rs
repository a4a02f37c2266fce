//! SQLite templates: the tables of a schema built once per process, then copied for each
//! test (a file copy instead of a `CREATE TABLE` per model per test).
//!
//! A schema's template is built in WAL mode, the mode dataflow opens files in: a copy
//! opens in WAL at once, where a database in rollback mode would first be converted (a
//! journal file and four `fsync`s on the first connection of every test). The template is
//! also kept in memory, so a copy is one `write` of the image to the new file.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use dataflow::{Backend, ModelSchema};
#[cfg(feature = "sqlite")]
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
#[cfg(feature = "sqlite")]
use sqlx::{ConnectOptions, Connection, Executor};

use crate::error::{Error, Result};
use crate::rt;
use crate::setup::DatabaseSetup;

struct Templates {
    dir: tempfile::TempDir,
    files: HashMap<u64, PathBuf>,
    /// The bytes of the schema templates (`template_for`), by fingerprint.
    #[cfg_attr(
        not(feature = "sqlite"),
        allow(dead_code, reason = "built by SQLite only")
    )]
    images: HashMap<u64, Arc<[u8]>>,
    /// The fingerprints of the schema lists seen so far (at most [`KNOWN`]): a fixture
    /// asks for the same list in every test, and comparing it with one seen before is much
    /// cheaper than writing out the SQL of every table to fingerprint it again.
    #[cfg_attr(
        not(feature = "sqlite"),
        allow(dead_code, reason = "read by SQLite only")
    )]
    known: Vec<(Vec<Arc<ModelSchema>>, u64)>,
}

/// How many schema lists [`Templates::known`] remembers.
#[cfg_attr(
    not(feature = "sqlite"),
    allow(dead_code, reason = "read by SQLite only")
)]
const KNOWN: usize = 64;

fn templates() -> &'static Mutex<Option<Templates>> {
    static TEMPLATES: OnceLock<Mutex<Option<Templates>>> = OnceLock::new();
    TEMPLATES.get_or_init(Default::default)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Writes a database holding what `setup` makes (migrations, setup function, fixtures) at
/// `path`, copied from a template built once per process for that setup.
pub(crate) fn copy_setup_into(setup: &Arc<DatabaseSetup>, path: &Path) -> Result<()> {
    let mut templates = templates().lock().unwrap_or_else(|e| e.into_inner());
    let templates = open_templates(&mut templates)?;
    // Keys of setups and of schema lists share the map: keep them apart.
    let key = setup.key.rotate_left(1) ^ 0x5e7u64;
    let file = match templates.files.get(&key) {
        Some(file) => file.clone(),
        None => {
            let file = templates.dir.path().join(format!("setup-{key:016x}.db"));
            // What an earlier attempt that failed half way left.
            let _ = std::fs::remove_file(&file);
            let url = format!("sqlite://{}", file.display());
            let apply = Arc::clone(setup);
            rt::block_on(async move { apply.apply(&url).await })?;
            templates.files.insert(key, file.clone());
            file
        }
    };
    std::fs::copy(&file, path).map_err(io_error(path))?;
    Ok(())
}

/// Writes a database with the tables of `schemas` at `path`, unless a file is there already
/// (the fixture used the database itself: it is left as it is). Returns whether it wrote
/// one (not for an empty schema list, nor over an existing file).
pub(crate) fn copy_into(schemas: &[Arc<ModelSchema>], path: &Path) -> Result<bool> {
    if schemas.is_empty() {
        return Ok(false);
    }
    let image = template_for(schemas)?;
    // `create_new`: the path is the test's own; one system call both checks that it does
    // not exist yet and creates it.
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(io_error(path)(e)),
    };
    std::io::Write::write_all(&mut file, &image).map_err(io_error(path))?;
    Ok(true)
}

/// The image of the template of `schemas`, built on first use.
#[cfg(feature = "sqlite")]
fn template_for(schemas: &[Arc<ModelSchema>]) -> Result<Arc<[u8]>> {
    let mut templates = templates().lock().unwrap_or_else(|e| e.into_inner());
    let templates = open_templates(&mut templates)?;
    let same = |known: &[Arc<ModelSchema>]| {
        known.len() == schemas.len()
            && known
                .iter()
                .zip(schemas)
                .all(|(a, b)| Arc::ptr_eq(a, b) || a == b)
    };
    let fingerprint = match templates.known.iter().find(|(known, _)| same(known)) {
        Some(&(_, fingerprint)) => fingerprint,
        None => {
            let fingerprint = crate::setup::fingerprint(Backend::Sqlite, schemas);
            if templates.known.len() >= KNOWN {
                templates.known.clear();
            }
            templates.known.push((schemas.to_vec(), fingerprint));
            fingerprint
        }
    };
    if let Some(image) = templates.images.get(&fingerprint) {
        return Ok(Arc::clone(image));
    }
    let file = templates.dir.path().join(format!("{fingerprint:016x}.db"));
    let ddl: Vec<String> = schemas
        .iter()
        .map(|s| s.create_table_sql(Backend::Sqlite))
        .collect();
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .disable_statement_logging();
    rt::block_on(async move {
        let mut conn = options.connect().await?;
        for sql in &ddl {
            conn.execute(sql.as_str()).await?;
        }
        // Closing the only connection checkpoints the WAL into the file and removes it:
        // the file alone is the whole database, still marked WAL.
        conn.close().await
    })
    .map_err(|e| Error::DataFlow(dataflow::Error::Database(e)))?;
    let image: Arc<[u8]> = std::fs::read(&file).map_err(io_error(&file))?.into();
    templates.files.insert(fingerprint, file);
    templates.images.insert(fingerprint, Arc::clone(&image));
    Ok(image)
}

/// Without the `sqlite` feature: the error naming it (the same one `DataFlow::new` gives
/// for a SQLite URL).
#[cfg(not(feature = "sqlite"))]
fn template_for(_schemas: &[Arc<ModelSchema>]) -> Result<Arc<[u8]>> {
    Err(Error::DataFlow(dataflow::Error::BackendNotEnabled {
        url: "sqlite://".to_owned(),
        backend: Backend::Sqlite,
        feature: Backend::Sqlite.feature(),
    }))
}

/// The process's template directory, made on first use.
fn open_templates(templates: &mut Option<Templates>) -> Result<&mut Templates> {
    if templates.is_none() {
        let dir = crate::database::owned_temp_dir("templates")?;
        *templates = Some(Templates {
            dir,
            files: HashMap::new(),
            images: HashMap::new(),
            known: Vec::new(),
        });
    }
    Ok(templates.as_mut().expect("made above"))
}

/// Removes this process's templates (at exit).
pub(crate) fn remove_templates() {
    if let Some(templates) = templates().lock().unwrap_or_else(|e| e.into_inner()).take() {
        let _ = templates.dir.close();
    }
}
