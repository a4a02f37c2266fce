use dataflow_testing::dataflow_fixture;

#[dataflow_fixture(leak_check = "everything", colour = "red", keep_on_failure = 1)]
async unsafe fn users_db<T>(
    &self,
    (tmp, _extra): (dataflow_testing::TempDatabase, T),
    _: u32,
) -> Vec<dataflow::DataFlow> {
    vec![dataflow::DataFlow::new(tmp.url()).unwrap()]
}

fn main() {}
