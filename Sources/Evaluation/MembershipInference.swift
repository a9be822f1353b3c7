import Foundation

/// The membership-inference attack of the official SSD code: one feature per sample (the entropy
/// of the model's softmax output, or the true-label probability), a class-balanced L2-regularised
/// logistic regression trained on members (retain samples) against non-members (test samples),
/// then applied to the forget samples. The score is the share of forget samples judged members:
/// lower means better forgotten.
///
/// The regression is sklearn's `LogisticRegression(class_weight="balanced", C=1, multi_class=
/// "multinomial")` as the SSD code calls it: on two classes that is a binary model with penalty
/// ¼·w² on the weight (the intercept unpenalised), solved here exactly by Newton's method.
public struct MembershipInference: Sendable, Equatable {
    public enum Feature: String, Sendable {
        /// −Σ p ln p of the softmax output.
        case entropy
        /// The probability given to the true label.
        case confidence
    }

    public let feature: Feature
    public let weight: Double, intercept: Double
    /// Forget samples judged members, as a share.
    public let memberShare: Double
    public let members: Int, nonMembers: Int, targets: Int
    /// Each sample's feature, as the attack saw it: members (retain), non-members (test) and targets
    /// (forget), in sample order; reports draw them as histograms beside the attack's threshold.
    public let memberFeatures: [Double], nonMemberFeatures: [Double], targetFeatures: [Double]

    public static let definition = """
        membership inference (official SSD recipe): feature = softmax entropy (or true-label probability \
        with --mia-feature confidence); class-balanced logistic regression (sample weight n/(2 n_class), \
        penalty 0.25 w^2 as sklearn's multinomial fit on two classes, intercept unpenalised) trained on \
        retain samples as members against test samples as non-members; score = share of forget samples \
        with p(member) >= 0.5
        """

    /// Fits on the members' and non-members' features and scores the targets.
    public init(feature: Feature, members: [Double], nonMembers: [Double], targets: [Double], penalty: Double = 0.25) {
        let (weight, intercept) = Self.fit(members: members, nonMembers: nonMembers, penalty: penalty)
        self.feature = feature
        self.weight = weight
        self.intercept = intercept
        self.members = members.count
        self.nonMembers = nonMembers.count
        self.targets = targets.count
        memberFeatures = members
        nonMemberFeatures = nonMembers
        targetFeatures = targets
        memberShare = targets.isEmpty ? 0 : Double(targets.filter { 1 / (1 + exp(-(weight * $0 + intercept))) >= 0.5 }.count) / Double(targets.count)
    }

    /// The feature value at which the fitted regression gives p(member) = ½: samples on the side
    /// the weight points to are judged members. Nil when the weight is 0 (every sample is judged
    /// alike, by the intercept alone).
    public var threshold: Double? {
        weight == 0 ? nil : -intercept / weight
    }

    /// The feature of one softmax row with true label `label`.
    public static func value(_ feature: Feature, probabilities row: ArraySlice<Float>, label: Int) -> Double {
        switch feature {
        case .entropy: return -row.reduce(0.0) { $1 > 0 ? $0 + Double($1) * log(Double($1)) : $0 }
        case .confidence: return Double(row[row.startIndex + label])
        }
    }

    /// Newton's method on the weighted, penalised log-loss; converges in a handful of steps.
    static func fit(members: [Double], nonMembers: [Double], penalty: Double) -> (Double, Double) {
        let n = Double(members.count + nonMembers.count)
        guard !members.isEmpty, !nonMembers.isEmpty else { return (0, 0) }
        let samples = members.map { ($0, 1.0, n / (2 * Double(members.count))) } + nonMembers.map { ($0, 0.0, n / (2 * Double(nonMembers.count))) }
        var w = 0.0, b = 0.0
        for _ in 0..<100 {
            var gw = 2 * penalty * w, gb = 0.0, hww = 2 * penalty, hwb = 0.0, hbb = 0.0
            for (x, t, s) in samples {
                let p = 1 / (1 + exp(-(w * x + b)))
                gw += s * (p - t) * x
                gb += s * (p - t)
                let curvature = s * p * (1 - p)
                hww += curvature * x * x
                hwb += curvature * x
                hbb += curvature
            }
            let determinant = hww * hbb - hwb * hwb
            guard determinant > 0 else { break }
            let (dw, db) = ((hbb * gw - hwb * gb) / determinant, (hww * gb - hwb * gw) / determinant)
            w -= dw
            b -= db
            if abs(dw) < 1e-15 && abs(db) < 1e-15 { break }
        }
        return (w, b)
    }
}
