import Checkpoint
import Manifest

/// What was done to the model, as its forgetting attestation says it: the passes with their
/// parameters and per-tensor changes, what became of optimizer state, the inputs and outputs with
/// their digests, who signed it and whether that was checked, and the chain of earlier edits.
/// Read from the statement's predicate field by field; a field that is missing or of the wrong
/// kind (a record may come from anywhere) reads as empty, never as a failure.
public struct Provenance: Sendable {
    public struct Pass: Sendable {
        public let spec: String
        public let parameters: [(name: String, value: String)]
        public let changes: [TensorChange]
    }

    public struct TensorChange: Sendable, Equatable {
        public let tensor: String
        public let elementsChanged: Int
        public let l2: Double
        public let maxAbs: Double

        public init(tensor: String, elementsChanged: Int, l2: Double, maxAbs: Double) {
            self.tensor = tensor
            self.elementsChanged = elementsChanged
            self.l2 = l2
            self.maxAbs = maxAbs
        }
    }

    /// A file with its role (inputs) or as a subject (outputs), and its SHA-256 ("" when not known).
    public struct File: Sendable, Equatable {
        public let role: String
        public let path: String
        public let sha256: String
    }

    /// Whether the record's signature was checked, and what came of it.
    public struct Signature: Sendable {
        public enum State: Sendable { case verified, failed, unchecked }
        public let state: State
        /// One sentence: who signed, or why it was not checked.
        public let summary: String
        public let problems: [String]

        public init(state: State, summary: String, problems: [String] = []) {
            self.state = state
            self.summary = summary
            self.problems = problems
        }
    }

    /// One edit in the model's history, oldest first; the last is this record's.
    public struct Link: Sendable {
        public let record: String
        /// The checkpoint the edit read (its path as recorded).
        public let input: String?
        public let passes: [String]
        public let classes: [Int]
        /// What is wrong with the link (a parent record missing or changed), if anything.
        public let problem: String?

        public init(record: String, input: String?, passes: [String], classes: [Int], problem: String? = nil) {
            self.record = record
            self.input = input
            self.passes = passes
            self.classes = classes
            self.problem = problem
        }

        /// The link a forgetting attestation describes.
        public init(record: String, statement: Statement, problem: String? = nil) {
            let predicate = statement.predicate
            self.init(record: record, input: Provenance.files(predicate["inputs"]).first { $0.role == "checkpoint" }?.path,
                      passes: (predicate["passes"]?.array ?? []).compactMap { $0["spec"]?.string },
                      classes: (predicate["target"]?["classes"]?.array ?? []).compactMap(\.int), problem: problem)
        }
    }

    public let record: String
    public let tool: String
    public let time: String?
    public let classes: [Int]
    public let passes: [Pass]
    /// Optimizer state: `none`, `kept` or `dropped`, with the groups.
    public let optimizer: (action: String, groups: [String])
    public let inputs: [File]
    public let outputs: [File]
    public let signature: Signature
    public let lineage: [Link]
    public let warnings: [String]
    /// What the record kept of its evaluation: the metrics before and after, and the policy.
    public let recordedBefore: [String: Double], recordedAfter: [String: Double]
    public let recordedPolicy: [String]

    /// The provenance a forgetting attestation's statement gives; `lineage` holds the earlier
    /// links, oldest first (this record's is added last).
    public init(statement: Statement, record: String, signature: Signature, lineage: [Link] = []) {
        let predicate = statement.predicate
        self.record = record
        let tool = predicate["tool"]
        self.tool = [tool?["name"]?.string, tool?["version"]?.string].compactMap { $0 }.joined(separator: " ")
        time = predicate["time"]?.string.flatMap { $0.isEmpty ? nil : $0 }
        classes = (predicate["target"]?["classes"]?.array ?? []).compactMap(\.int)
        passes = (predicate["passes"]?.array ?? []).map { pass in
            let parameters: [(name: String, value: String)]
            if case .object(let members)? = pass["parameters"] {
                parameters = members.map { ($0.0, $0.1.string ?? $0.1.compact) }
            } else {
                parameters = []
            }
            return Pass(spec: pass["spec"]?.string ?? pass["name"]?.string ?? "?", parameters: parameters,
                        changes: (pass["tensors"]?.array ?? []).map { edit in
                            TensorChange(tensor: edit["tensor"]?.string ?? "?", elementsChanged: edit["elements_changed"]?.int ?? 0,
                                         l2: edit["l2"]?.double ?? 0, maxAbs: edit["max_abs"]?.double ?? 0)
                        })
        }
        let optimizer = predicate["optimizer_state"]
        self.optimizer = (optimizer?["action"]?.string ?? "not recorded", (optimizer?["groups"]?.array ?? []).compactMap(\.string))
        inputs = Self.files(predicate["inputs"])
        outputs = statement.subjects.map { File(role: "output", path: $0.name, sha256: $0.sha256) }
        self.signature = signature
        self.lineage = lineage + [Link(record: record, statement: statement)]
        warnings = (predicate["warnings"]?.array ?? []).compactMap(\.string)
        let evaluation = predicate["evaluation"]
        recordedBefore = Self.numbers(evaluation?["before"])
        recordedAfter = Self.numbers(evaluation?["after"])
        recordedPolicy = (evaluation?["require"]?.array ?? []).compactMap(\.string)
    }

    static func files(_ value: JSONValue?) -> [File] {
        (value?.array ?? []).map { File(role: $0["role"]?.string ?? "input", path: $0["path"]?.string ?? "?", sha256: $0["sha256"]?.string ?? "") }
    }

    private static func numbers(_ value: JSONValue?) -> [String: Double] {
        guard case .object(let members)? = value else { return [:] }
        var numbers: [String: Double] = [:]
        for (name, number) in members { numbers[name] = number.double }
        return numbers
    }
}
