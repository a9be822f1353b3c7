import Testing
@testable import Evaluation

/// Assessments from outputs already computed, as the main command builds them from the Fisher passes.
@Suite struct AssessmentTests {
    /// Four samples, three classes; argmax is the first row's 0, then 1, 2, 2.
    private let all = Predictions(outputs: [0.7, 0.2, 0.1,  0.1, 0.8, 0.1,  0.2, 0.3, 0.5,  0.1, 0.1, 0.8],
                                  labels: [0, 1, 1, 2], classes: 3)

    @Test func subsetsPickRows() {
        let picked = all.subset([1, 3])
        #expect(picked.outputs == [0.1, 0.8, 0.1, 0.1, 0.1, 0.8] && picked.labels == [1, 2] && picked.classes == 3)
    }

    @Test func metricsPerSplitAndMembershipOnlyWithAllThree() {
        // forget = sample 2 (wrong), retain = 0, 1, 3 (right), no test split: no membership inference.
        let partial = Assessment(forget: all.subset([2]), retain: all.subset([0, 1, 3]), test: nil, feature: .entropy)
        #expect(partial.values == ["forget_acc": 0, "retain_acc": 1])
        #expect(partial.membership == nil)
        // An empty split counts as absent; with a test split, membership inference is measured.
        let empty = Assessment(forget: all.subset([]), retain: all.subset([0, 1]), test: all.subset([3]), feature: .confidence)
        #expect(empty.forget == nil && empty.membership == nil && empty.values["test_acc"] == 1)
        let full = Assessment(forget: all.subset([2]), retain: all.subset([0, 1]), test: all.subset([3]), feature: .confidence)
        #expect(full.membership?.targets == 1 && full.membership?.members == 2 && full.membership?.nonMembers == 1)
    }
}
