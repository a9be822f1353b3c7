import Engine
import Evaluation
import Manifest
import Report

/// A report page as data: the model, the one before the edit, the data to measure both on, the
/// record to read and the keys to check it with, the policy, and where to write.
public struct ReportRequest {
    public var model: String
    /// `--before`: the model before the edit, measured on the same splits.
    public var before: String?
    /// The data; without classes or ids, the forget classes are the ones the record names.
    public var data: DataSelection
    public var spiking: SpikingOptions?
    public var miaFeature: MembershipInference.Feature
    /// `--require`; nil: the policy the record kept, if any.
    public var requirements: [Requirement]?
    /// `--record`: the forgetting attestation to read (default MODEL.manifest.json, when there).
    public var record: String?
    /// Keys to check the record's signature with; none: it is read but reported as not checked.
    public var keys: [TrustedKey]
    public var output: String
    public var toolVersion: String

    public init(model: String, before: String? = nil, data: DataSelection = DataSelection(), spiking: SpikingOptions? = nil,
                miaFeature: MembershipInference.Feature = .entropy, requirements: [Requirement]? = nil, record: String? = nil,
                keys: [TrustedKey] = [], output: String, toolVersion: String) {
        self.model = model
        self.before = before
        self.data = data
        self.spiking = spiking
        self.miaFeature = miaFeature
        self.requirements = requirements
        self.record = record
        self.keys = keys
        self.output = output
        self.toolVersion = toolVersion
    }
}

/// What a report run wrote and what its page says, for the command's summary line.
public struct ReportOutcome: Sendable {
    public let path: String
    /// Why the page shows no metrics; nil when it does.
    public let noMetricsReason: String?
    /// The record's signature, when a record was read.
    public let signature: Provenance.Signature.State?
    /// Whether the policy was met, when there was one.
    public let policyMet: Bool?
}

/// A report that cannot be made as asked (exit 2).
public enum ReportJobError: Error, Equatable, CustomStringConvertible {
    case beforeNeedsData
    case classesDiffer(before: String, beforeClasses: Int, after: String, afterClasses: Int)

    public var description: String {
        switch self {
        case .beforeNeedsData:
            "--before is measured on the data: give --data (with --class or --forget-ids) or --forget-data and --retain-data"
        case .classesDiffer(let before, let beforeClasses, let after, let afterClasses):
            "--before \(before) has \(beforeClasses) classes and \(after) has \(afterClasses): a model before the edit has the same classes"
        }
    }
}
