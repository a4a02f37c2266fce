// Shared by both suites (`#[path]`-included): 1,000 tests from one macro, named
// `h0::t0::u0` .. `h9::t9::u9`, each made by `$test!(name)`.

macro_rules! thousand_tests {
    ($test:ident) => {
        thousand_tests!(@h [h0 h1 h2 h3 h4 h5 h6 h7 h8 h9] [t0 t1 t2 t3 t4 t5 t6 t7 t8 t9]
            [u0 u1 u2 u3 u4 u5 u6 u7 u8 u9] $test);
    };
    (@h [$($h:ident)*] $ts:tt $us:tt $test:ident) => {
        $(mod $h {
            #[allow(unused_imports)]
            use super::*;
            thousand_tests!(@t $ts $us $test);
        })*
    };
    (@t [$($t:ident)*] $us:tt $test:ident) => {
        $(mod $t {
            #[allow(unused_imports)]
            use super::*;
            thousand_tests!(@u $us $test);
        })*
    };
    (@u [$($u:ident)*] $test:ident) => {
        $($test!($u);)*
    };
}
