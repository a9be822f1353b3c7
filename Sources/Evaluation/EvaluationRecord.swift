import Checkpoint

/// The attestation's `evaluation`: the metrics before and after an edit, the split sizes, the
/// policy, and the exact definitions the numbers were measured by.
public enum EvaluationRecord {
    public static let metricNames = ["forget_acc", "retain_acc", "test_acc", "mia", "forget_share", "forget_prob", "relearn"]

    public static func json(before: Assessment, after: Assessment, requirements: [Requirement], sizes: [DataSplit: Int],
                            relearnLimit: Int? = nil) -> JSONValue {
        func metrics(_ assessment: Assessment) -> JSONValue {
            .object(metricNames.compactMap { name in assessment.values[name].map { (name, JSONValue.number($0)) } })
        }
        return [
            "before": metrics(before),
            "after": metrics(after),
            "splits": ["forget": JSONValue(sizes[.forget] ?? 0), "retain": JSONValue(sizes[.retain] ?? 0), "test": JSONValue(after.test?.samples)],
            "require": .array(requirements.map { .string("\($0.metric)\($0.comparison)\($0.bound)") }),
            "definitions": [
                "classification": .string(ClassificationMetrics.definitions),
                "membership_inference": JSONValue(after.membership.map { _ in MembershipInference.definition }),
                "mia_feature": JSONValue(after.membership?.feature.rawValue),
                "relearn": relearnLimit.map { .string("steps until forget_acc is back to its value before the edit; \($0 + 1) = not within \($0); " + RelearnTime.recipe) } ?? .null,
                "forget_classes": .string("forget_share = share of all assessed samples (forget, retain, test) predicted as a forget class; forget_prob = their mean total probability of the forget classes"),
            ],
        ]
    }
}
