//! A test that fails everywhere: a plain failure, not an isolation finding.

#[test]
fn always_fails() {
    assert_eq!(
        2 + 2,
        5,
        "planted: this test fails alone and in every order"
    );
}
