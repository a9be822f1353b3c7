import Evaluation

/// Everything a report page shows, gathered beforehand (by the `report` subcommand's job or by a
/// forgetting run): the page is a pure function of this value (`ReportRenderer.render`), so the
/// same inputs give the same bytes, and tests can render hand-built values.
public struct ReportModel: Sendable {
    /// The model the page is about, as the user named it.
    public var model: String
    /// The forgotten classes (empty for sample-wise forgetting).
    public var forgetClasses: [Int]
    /// Class names by index, when the checkpoint gives them.
    public var classNames: [String]?
    public var metrics: Metrics
    /// The `--require` policy measured against the metrics, when there is one.
    public var policy: PolicyCheck?
    /// What was done, from the model's forgetting attestation; nil with the reason when none was read.
    public var provenance: Provenance?
    public var provenanceNote: String?
    /// The files this page was made from, with their SHA-256 (empty digest: not computed).
    public var sources: [SourceFile]
    public var toolVersion: String

    public init(model: String, forgetClasses: [Int], classNames: [String]? = nil, metrics: Metrics, policy: PolicyCheck? = nil,
                provenance: Provenance? = nil, provenanceNote: String? = nil, sources: [SourceFile] = [], toolVersion: String) {
        self.model = model
        self.forgetClasses = forgetClasses
        self.classNames = classNames
        self.metrics = metrics
        self.policy = policy
        self.provenance = provenance
        self.provenanceNote = provenanceNote
        self.sources = sources
        self.toolVersion = toolVersion
    }

    /// Whether the model was run on data, and if not, why.
    public enum Metrics: Sendable {
        case measured(Measurement)
        /// No metrics: the reason, in words (the engine cannot run the file, no data was given).
        case notMeasured(String)
    }

    /// The model measured on the data, and the model before the edit when there was one to run.
    public struct Measurement: Sendable {
        public var before: Assessment?
        public var after: Assessment
        /// Metrics from before the edit that the model's record kept (`evaluation.before`), shown
        /// when no model before the edit was run.
        public var recordedBefore: [String: Double]
        /// What the model was measured on, in words (files and split sizes).
        public var data: String
        /// The model before the edit (`--before`, or the forgetting run's input).
        public var beforeModel: String?
        /// For a spiking network: each spiking layer's firing rate on the forget and retain splits,
        /// in run order (empty for other models).
        public var spikeRates: [LayerSpikeRates]

        public init(before: Assessment?, after: Assessment, recordedBefore: [String: Double] = [:], data: String, beforeModel: String? = nil,
                    spikeRates: [LayerSpikeRates] = []) {
            self.before = before
            self.after = after
            self.recordedBefore = recordedBefore
            self.data = data
            self.beforeModel = beforeModel
            self.spikeRates = spikeRates
        }

        /// A metric before the edit: measured, else as the record kept it.
        public func beforeValue(_ name: String) -> Double? {
            before.map { $0.values[name] } ?? recordedBefore[name]
        }
    }

    /// One spiking layer's mean firing rate (spikes per neuron per time step, 0 to 1) on the forget
    /// and retain splits, after the edit and, when the model before it was run, before.
    public struct LayerSpikeRates: Sendable, Equatable {
        public let layer: String
        public let neurons: Int
        public let forgetBefore: Double?, forgetAfter: Double
        public let retainBefore: Double?, retainAfter: Double

        public init(layer: String, neurons: Int, forgetBefore: Double?, forgetAfter: Double, retainBefore: Double?, retainAfter: Double) {
            self.layer = layer
            self.neurons = neurons
            self.forgetBefore = forgetBefore
            self.forgetAfter = forgetAfter
            self.retainBefore = retainBefore
            self.retainAfter = retainAfter
        }
    }

    /// A file the page was made from.
    public struct SourceFile: Sendable, Equatable {
        public let role: String
        public let path: String
        public let sha256: String

        public init(role: String, path: String, sha256: String) {
            self.role = role
            self.path = path
            self.sha256 = sha256
        }
    }

    /// How class `c` is labelled on the page: its index, and its name when the file gives one.
    func label(_ c: Int) -> String {
        if let names = classNames, names.indices.contains(c), !names[c].isEmpty { return "\(c) \(names[c])" }
        return String(c)
    }
}

/// A policy's clauses, each measured: which hold and which do not (a metric that could not be
/// measured does not hold), as `--require` decides.
public struct PolicyCheck: Sendable {
    public struct Clause: Sendable {
        public let requirement: Requirement
        /// Why it does not hold; nil when it holds.
        public let failure: String?

        public var text: String { "\(requirement.metric)\(requirement.comparison)\(ReportNumber.plain(requirement.bound))" }
    }

    public let clauses: [Clause]
    /// Where the policy came from, in words ("--require", "the record's policy").
    public let source: String

    public init(_ requirements: [Requirement], before: [String: Double], after: [String: Double], source: String) {
        clauses = requirements.map { Clause(requirement: $0, failure: Requirement.failures([$0], before: before, after: after).first) }
        self.source = source
    }

    public var met: Bool { clauses.allSatisfy { $0.failure == nil } }

    /// The clauses on `metric` (the drops are shown beside the accuracy they drop from).
    func clauses(on metric: String) -> [Clause] {
        clauses.filter { clause in
            clause.requirement.metric == metric || (clause.requirement.metric == "retain_drop" && metric == "retain_acc")
                || (clause.requirement.metric == "test_drop" && metric == "test_acc")
        }
    }
}
