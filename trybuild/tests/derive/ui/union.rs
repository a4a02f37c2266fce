use dataflow::Model;

#[derive(Model)]
union Number {
    id: i64,
    value: f64,
}

fn main() {}
