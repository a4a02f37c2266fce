use dataflow::Model;

#[derive(Model)]
struct Price {
    id: i64,
    #[dataflow(decimal(10, 2))]
    count: i64,
    #[dataflow(decimal(30, 2))]
    wide: rust_decimal::Decimal,
    #[dataflow(decimal(4, 5))]
    scaled: rust_decimal::Decimal,
    #[dataflow(decimal(10))]
    one: rust_decimal::Decimal,
}

fn main() {}
