use dataflow::Model;

#[derive(Model)]
struct ThisModelNameIsFarTooLongToBeATableNameInPostgresWhichStopsAtSixtyThree {
    id: String,
}

fn main() {}
