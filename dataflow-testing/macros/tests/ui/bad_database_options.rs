use dataflow_testing::{dataflow_fixture, TempDatabase};

#[dataflow_fixture(migrations = 42, fixtures(), setup = "create_roles", isolation = "serial")]
fn users_db(temp_database: TempDatabase) -> dataflow::DataFlow {
    dataflow::DataFlow::new(temp_database.url()).unwrap()
}

#[dataflow_fixture(migrations = "migrations", fixtures("users.sql"))]
fn orders_db() -> dataflow::DataFlow {
    dataflow::DataFlow::new("sqlite::memory:").unwrap()
}

fn main() {}
