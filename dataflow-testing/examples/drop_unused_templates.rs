//! Drops the template databases (`dftpl_*`) that no test process has used for N days (30
//! by default) on the server named by `DATAFLOW_TEST_POSTGRES_URL` or
//! `DATAFLOW_TEST_MYSQL_URL`:
//!
//! ```sh
//! DATAFLOW_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres \
//! cargo run -p dataflow-testing --example drop_unused_templates -- 30
//! ```

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    let days = match std::env::args().nth(1).map(|a| a.parse::<u64>()) {
        None => 30,
        Some(Ok(days)) => days,
        Some(Err(_)) => {
            eprintln!("usage: drop_unused_templates [DAYS], DAYS a whole number (default 30)");
            return ExitCode::from(64);
        }
    };
    match dataflow_testing::drop_unused_templates(Duration::from_secs(days * 86_400)) {
        Ok(dropped) => {
            println!(
                "dropped {} template(s) unused for {days} day(s){}",
                dropped.len(),
                if dropped.is_empty() { "" } else { ":" }
            );
            for name in dropped {
                println!("  {name}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
