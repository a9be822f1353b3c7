import Checkpoint
import Engine
import Foundation

/// What a model knows of the data: metrics on the forget, retain and test splits and the
/// membership-inference score, under the names `--require` and the attestation use.
public struct Assessment: Sendable {
    public let forget: ClassificationMetrics?
    public let retain: ClassificationMetrics?
    public let test: ClassificationMetrics?
    public let membership: MembershipInference?
    /// With forget classes: over every sample assessed (forget, retain and test), the share whose
    /// prediction is a forget class, and the mean probability the model gives the forget classes.
    public let forgetClassShare: Double?, forgetClassProbability: Double?
    /// Relearn time in steps (see `RelearnTime`), when measured; `relearnLimit + 1` when the forget
    /// accuracy did not come back within the limit.
    public var relearnSteps: Int?
    /// Class by class over the forget and retain splits together, for reports: only when asked for
    /// (`detailed`), as it keeps a curve per forget class.
    public let breakdown: ClassBreakdown?

    /// `forget_acc`, `retain_acc`, `test_acc`, `mia`, `forget_share`, `forget_prob` (those that
    /// could be measured).
    public var values: [String: Double] {
        var values: [String: Double] = [:]
        values["forget_acc"] = forget?.accuracy
        values["retain_acc"] = retain?.accuracy
        values["test_acc"] = test?.accuracy
        values["mia"] = membership?.memberShare
        values["forget_share"] = forgetClassShare
        values["forget_prob"] = forgetClassProbability
        values["relearn"] = relearnSteps.map(Double.init)
        return values
    }

    /// Metrics from the model's outputs on each split; `forgetClasses` are the classes forgotten
    /// (none for sample-wise forgetting); `detailed` adds the `breakdown`.
    public init(forget: Predictions?, retain: Predictions?, test: Predictions?, feature: MembershipInference.Feature,
                forgetClasses: [Int] = [], detailed: Bool = false) {
        func nonEmpty(_ predictions: Predictions?) -> Predictions? { predictions.flatMap { $0.labels.isEmpty ? nil : $0 } }
        let (f, r, t) = (nonEmpty(forget), nonEmpty(retain), nonEmpty(test))
        self.forget = f?.metrics
        self.retain = r?.metrics
        self.test = t?.metrics
        breakdown = detailed ? Predictions.concatenating([f, r].compactMap { $0 }).map { ClassBreakdown($0, forgetClasses: forgetClasses) } : nil
        let assessed = [f, r, t].compactMap { $0 }
        let samples = assessed.reduce(0) { $0 + $1.labels.count }
        if !forgetClasses.isEmpty, samples > 0 {
            var predicted = 0, probability = 0.0
            for predictions in assessed {
                let classes = predictions.classes
                for sample in predictions.labels.indices {
                    let row = predictions.outputs[(sample * classes)..<((sample + 1) * classes)]
                    let top = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }! - sample * classes
                    if forgetClasses.contains(top) { predicted += 1 }
                    let probabilities = predictions.probabilities(sample)
                    probability += forgetClasses.filter { (0..<classes).contains($0) }.reduce(0.0) { $0 + Double(probabilities[$1]) }
                }
            }
            forgetClassShare = Double(predicted) / Double(samples)
            forgetClassProbability = probability / Double(samples)
        } else {
            (forgetClassShare, forgetClassProbability) = (nil, nil)
        }
        if let f, let r, let t {
            membership = MembershipInference(feature: feature, members: r.features(feature), nonMembers: t.features(feature),
                                             targets: f.features(feature))
        } else {
            membership = nil
        }
    }

    /// Metrics of `network` on the forget, retain and test parts of `splits`, with membership
    /// inference when all three are there. `known` holds outputs of this network already computed
    /// (by the statistics passes), by split: those splits are not run again.
    public init(of network: any ClassifierModel, on splits: DataSplits, known: [DataSplit: (values: [Float], labels: [Int])] = [:],
                feature: MembershipInference.Feature, forgetClasses: [Int] = [], detailed: Bool = false) throws {
        func predictions(_ part: DataPart?, _ split: DataSplit) throws -> Predictions? {
            if let (values, labels) = known[split] {
                return Predictions(outputs: values, labels: labels, classes: network.classes, kind: network.outputKind)
            }
            guard let part, part.count > 0 else { return nil }
            return try Predictions(of: network, on: part)
        }
        self.init(forget: try predictions(splits.forget, .forget), retain: try predictions(splits.retain, .retain),
                  test: try predictions(splits.test, .test), feature: feature, forgetClasses: forgetClasses, detailed: detailed)
    }
}

/// A model's outputs (row per sample) on a split, with the labels: probabilities, or the scores
/// of a spiking network (see `ModelOutputKind`). Metrics rank the outputs as they are.
public struct Predictions: Sendable {
    public let outputs: [Float]
    public let labels: [Int]
    public let classes: Int
    public let kind: ModelOutputKind

    public init(outputs: [Float], labels: [Int], classes: Int, kind: ModelOutputKind = .probabilities) {
        self.outputs = outputs
        self.labels = labels
        self.classes = classes
        self.kind = kind
    }

    /// The outputs of `model` on every sample of `part`, in order.
    public init(of model: any ClassifierModel, on part: DataPart) throws {
        let (outputs, labels) = try model.outputs(on: part)
        self.init(outputs: outputs, labels: labels, classes: model.classes, kind: model.outputKind)
    }

    /// The samples at `positions` (indices into these predictions).
    public func subset(_ positions: [Int]) -> Predictions {
        var outputs: [Float] = []
        outputs.reserveCapacity(positions.count * classes)
        for position in positions { outputs += self.outputs[(position * classes)..<((position + 1) * classes)] }
        return Predictions(outputs: outputs, labels: positions.map { labels[$0] }, classes: classes, kind: kind)
    }

    /// The samples of `parts` one after the other; nil when there are none, or when they disagree on
    /// the classes or the kind of output.
    public static func concatenating(_ parts: [Predictions]) -> Predictions? {
        guard let first = parts.first, parts.allSatisfy({ $0.classes == first.classes && $0.kind == first.kind }) else { return nil }
        return Predictions(outputs: parts.flatMap(\.outputs), labels: parts.flatMap(\.labels), classes: first.classes, kind: first.kind)
    }

    public var metrics: ClassificationMetrics { ClassificationMetrics(labels: labels, probabilities: outputs, classes: classes) }

    /// One sample's outputs as probabilities: as they are, spike counts divided by their sum
    /// (uniform when none fired), potentials through a softmax.
    public func probabilities(_ sample: Int) -> [Float] {
        let row = Array(outputs[(sample * classes)..<((sample + 1) * classes)])
        switch kind {
        case .probabilities:
            return row
        case .spikeCounts:
            let total = row.reduce(0, +)
            return total > 0 ? row.map { $0 / total } : [Float](repeating: 1 / Float(classes), count: classes)
        case .potentials:
            let top = row.max() ?? 0
            let exponentials = row.map { Foundation.exp(Double($0 - top)) }
            let sum = exponentials.reduce(0, +)
            return exponentials.map { Float($0 / sum) }
        }
    }

    /// Each sample's membership-inference feature (on its probabilities).
    func features(_ feature: MembershipInference.Feature) -> [Double] {
        labels.indices.map { MembershipInference.value(feature, probabilities: probabilities($0)[...], label: labels[$0]) }
    }
}

/// `--require 'forget_acc<=0.01,retain_drop<=0.005,mia<=0.1'`: conditions on the metrics after
/// the edit (`forget_acc`, `retain_acc`, `test_acc`, `mia`) and on drops from before
/// (`retain_drop`, `test_drop` = before − after), with `<=`, `<`, `>=`, `>`.
public struct Requirement: Sendable, Equatable {
    public let metric: String
    public let comparison: String
    public let bound: Double

    public static let metrics = ["forget_acc", "retain_acc", "test_acc", "mia", "forget_share", "forget_prob", "relearn", "retain_drop", "test_drop"]

    public static func parse(_ text: String) throws -> [Requirement] {
        try text.split(separator: ",").map { clause in
            let clause = clause.trimmingCharacters(in: .whitespaces)
            guard let op = ["<=", ">=", "<", ">"].first(where: { clause.contains($0) }),
                  let range = clause.range(of: op) else {
                throw RequirementError.malformed(clause)
            }
            let metric = String(clause[..<range.lowerBound]).trimmingCharacters(in: .whitespaces)
            guard metrics.contains(metric) else { throw RequirementError.unknownMetric(metric) }
            guard let bound = Double(clause[range.upperBound...].trimmingCharacters(in: .whitespaces)), bound.isFinite else {
                throw RequirementError.malformed(clause)
            }
            return Requirement(metric: metric, comparison: op, bound: bound)
        }
    }

    /// The clauses that do not hold (a metric that could not be measured does not hold).
    public static func failures(_ requirements: [Requirement], before: Assessment?, after: Assessment) -> [String] {
        failures(requirements, before: before?.values ?? [:], after: after.values)
    }

    /// The same on metric values by name (`Assessment.values`), e.g. as a record kept them.
    public static func failures(_ requirements: [Requirement], before: [String: Double], after: [String: Double]) -> [String] {
        var values = after
        for (drop, metric) in [("retain_drop", "retain_acc"), ("test_drop", "test_acc")] {
            if let b = before[metric], let a = after[metric] { values[drop] = b - a }
        }
        return requirements.compactMap { requirement in
            guard let value = values[requirement.metric] else { return "\(requirement.metric) could not be measured (give the data it needs)" }
            let holds = switch requirement.comparison {
            case "<=": value <= requirement.bound
            case "<": value < requirement.bound
            case ">=": value >= requirement.bound
            default: value > requirement.bound
            }
            return holds ? nil : "\(requirement.metric) = \(value), required \(requirement.comparison) \(requirement.bound)"
        }
    }
}

public enum RequirementError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unknownMetric(String)
    case notMet([String])

    public var description: String {
        switch self {
        case .malformed(let clause): "--require: '\(clause)' must read METRIC<=NUMBER (or <, >=, >)"
        case .unknownMetric(let metric): "--require: unknown metric '\(metric)'; metrics: \(Requirement.metrics.joined(separator: ", "))"
        case .notMet(let failures): "--require not met: \(failures.joined(separator: "; ")); nothing written"
        }
    }
}
