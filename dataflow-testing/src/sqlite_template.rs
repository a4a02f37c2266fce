//! SQLite templates: the tables of a schema built once per process, then copied for each
//! test (a file copy instead of a `CREATE TABLE` per model per test).

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
}

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

/// Writes a database with the tables of `schemas` at `path` (which must not exist yet).
/// Returns whether it wrote one (not for an empty schema list).
pub(crate) fn copy_into(schemas: &[ModelSchema], path: &Path) -> Result<bool> {
    if schemas.is_empty() {
        return Ok(false);
    }
    let template = template_for(schemas)?;
    std::fs::copy(&template, path).map_err(io_error(path))?;
    Ok(true)
}

#[cfg(feature = "sqlite")]
fn template_for(schemas: &[ModelSchema]) -> Result<PathBuf> {
    let fingerprint = crate::setup::fingerprint(Backend::Sqlite, schemas);
    let mut templates = templates().lock().unwrap_or_else(|e| e.into_inner());
    let templates = open_templates(&mut templates)?;
    if let Some(file) = templates.files.get(&fingerprint) {
        return Ok(file.clone());
    }
    let file = templates.dir.path().join(format!("{fingerprint:016x}.db"));
    let ddl: Vec<String> = schemas
        .iter()
        .map(|s| s.create_table_sql(Backend::Sqlite))
        .collect();
    let options = SqliteConnectOptions::new()
        .filename(&file)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Delete)
        .disable_statement_logging();
    rt::block_on(async move {
        let mut conn = options.connect().await?;
        for sql in &ddl {
            conn.execute(sql.as_str()).await?;
        }
        conn.close().await
    })
    .map_err(|e| Error::DataFlow(dataflow::Error::Database(e)))?;
    templates.files.insert(fingerprint, file.clone());
    Ok(file)
}

/// Without the `sqlite` feature: the error naming it (the same one `DataFlow::new` gives
/// for a SQLite URL).
#[cfg(not(feature = "sqlite"))]
fn template_for(_schemas: &[ModelSchema]) -> Result<PathBuf> {
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
