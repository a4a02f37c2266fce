//! Tests that share the process's environment, with bugs planted in them, and no registry
//! trace to go by: `cargo xtask isolation-check --manifest-path tests/planted-env` must
//! explain them by probing alone.
//!
//! | module | bug |
//! |---|---|
//! | [`mode`] | `reads_the_mode_a_profile_set` passes only after any of the three tests that set `PLANTED_MODE` and never unset it (its state-setters) |
//! | [`proxy`] | `direct_connection_expects_no_proxy` fails after either client test that leaves `PLANTED_PROXY` set (its polluters), unless `resets_proxy_settings` runs in between (a cleaner) |
//! | [`clean`] | nothing: these restore what they change |

/// Settings a profile picks; three tests set the mode and one reads it.
pub mod mode {
    /// The mode the profile chose, if any.
    pub fn mode() -> Option<String> {
        std::env::var("PLANTED_MODE").ok()
    }

    #[cfg(test)]
    mod tests {
        // Each of these sets the mode for the code under test and forgets to unset it.
        #[test]
        fn a_bench_profile_sets_fast_mode() {
            std::env::set_var("PLANTED_MODE", "fast");
        }

        #[test]
        fn b_ci_profile_sets_fast_mode() {
            std::env::set_var("PLANTED_MODE", "fast");
        }

        #[test]
        fn c_release_profile_sets_fast_mode() {
            std::env::set_var("PLANTED_MODE", "fast");
        }

        /// Brittle: relies on a profile test having run first.
        #[test]
        fn reads_the_mode_a_profile_set() {
            assert_eq!(
                super::mode().as_deref(),
                Some("fast"),
                "no profile set the mode"
            );
        }
    }
}

/// A client that honours `PLANTED_PROXY`.
pub mod proxy {
    /// The proxy a client would use.
    pub fn proxy() -> Option<String> {
        std::env::var("PLANTED_PROXY").ok()
    }

    /// How a request goes out with `proxy`.
    pub fn route(proxy: Option<&str>) -> String {
        proxy.map_or_else(|| "direct".to_owned(), |p| format!("via {p}"))
    }

    #[cfg(test)]
    mod tests {
        // The reset line (`std::env::remove_var("PLANTED_PROXY")`) was removed from both.
        #[test]
        fn a_http_client_uses_the_proxy() {
            std::env::set_var("PLANTED_PROXY", "http://proxy:3128");
            assert_eq!(
                super::route(Some("http://proxy:3128")),
                "via http://proxy:3128"
            );
        }

        #[test]
        fn b_https_client_uses_the_proxy() {
            std::env::set_var("PLANTED_PROXY", "http://proxy:3129");
            assert_eq!(
                super::route(Some("http://proxy:3129")),
                "via http://proxy:3129"
            );
        }

        /// The cleaner: starts from the defaults, which clears what a polluter left.
        #[test]
        fn c_resets_proxy_settings() {
            std::env::remove_var("PLANTED_PROXY");
            assert_eq!(super::route(None), "direct");
        }

        /// The victim.
        #[test]
        fn direct_connection_expects_no_proxy() {
            assert_eq!(super::proxy(), None, "a proxy was left set");
        }
    }
}

/// Tests that restore what they change.
pub mod clean {
    #[cfg(test)]
    mod tests {
        #[test]
        fn arithmetic_still_works() {
            assert_eq!(2 + 2, 4);
        }

        #[test]
        fn sets_and_restores_its_own_variable() {
            std::env::set_var("PLANTED_OWN", "1");
            assert_eq!(std::env::var("PLANTED_OWN").as_deref(), Ok("1"));
            std::env::remove_var("PLANTED_OWN");
        }
    }
}
