//! Integration tests of the dataflow workspace. One binary, one module per area.
//!
//! Tests marked "on every backend" run on SQLite (file and memory), and on PostgreSQL and
//! MariaDB when `DATAFLOW_TEST_POSTGRES_URL` / `DATAFLOW_TEST_MYSQL_URL` are set.

mod models;

mod bad_input;
mod crud;
mod exit_check;
mod fixtures;
mod isolation;
mod killed_run;
mod migrations;
mod raw_sql;
mod registry;
mod registry_model;
mod reuse;
mod runtimes;
mod schema;
mod schema_fixtures;
mod server_faults;
mod snapshots;
mod storm;
mod stress;
mod tidy;
mod transaction;
mod workflow;
