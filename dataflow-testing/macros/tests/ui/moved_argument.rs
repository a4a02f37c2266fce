use dataflow::DataFlow;
use dataflow_testing::{dataflow_fixture, temp_database, TempDatabase};

// The guard keeps every argument alive until the instance is cleaned up, so the body may
// only borrow them: moving one out is the borrow checker's error, at the argument.
#[dataflow_fixture]
fn users_db(temp_database: TempDatabase) -> DataFlow {
    let db = DataFlow::new(temp_database.url()).unwrap();
    drop(temp_database);
    db
}

fn main() {}
