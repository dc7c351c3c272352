//! The shared conformance suite (random op streams under the oracle; complete after a full
//! collection).
gclab_conformance::conformance_tests!(gclab_trial_deletion::TrialDeletion, Complete);

/// With tiny buffers the automatic collection runs inside the random streams too.
#[test]
fn conformance_small_buffers() {
    use gclab_conformance::{check_params, Config, Expect};
    for buffer in ["1", "4"] {
        let cfg = Config {
            cases: Config::default().cases / 4,
            label: format!("trial-deletion buffer={buffer}"),
            ..Config::default()
        };
        check_params::<gclab_trial_deletion::TrialDeletion>(
            &[("buffer".into(), buffer.into())],
            Expect::Complete,
            cfg,
        );
    }
}
