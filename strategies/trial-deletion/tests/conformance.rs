//! The shared conformance suite (random op streams under the oracle, checked against the
//! guarantee `TrialDeletion` declares: complete after a full collection). With tiny buffers the
//! automatic collection runs inside the random streams too.
gclab_conformance::conformance_tests!(gclab_trial_deletion::TrialDeletion, params: [
    [("buffer", "1")],
    [("buffer", "4")],
]);
