import Checkpoint
import Forgetting

/// The forgetting attestation: an in-toto Statement whose subjects are the output files and whose
/// predicate says what was done to which inputs, with which evidence, after which earlier edits.
public enum ForgettingAttestation {
    /// Versioned: a reader can tell which fields to expect.
    public static let predicateType = "https://ckptforget.dev/attestation/forgetting/v1"

    /// A file the run read, with its role (`checkpoint`, `pre`, `statistics`, `data`).
    public struct Input: Equatable, Sendable {
        public let role: String
        public let path: String
        public let sha256: String

        public init(role: String, path: String, sha256: String) {
            self.role = role
            self.path = path
            self.sha256 = sha256
        }
    }

    /// The input's own attestation: its path as found and the SHA-256 of its bytes.
    public struct Parent: Equatable, Sendable {
        public let path: String
        public let sha256: String
    }

    public struct Context: Sendable {
        public var tool = "ckptforget"
        public var version: String
        /// RFC 3339 UTC: from SOURCE_DATE_EPOCH when set, else the clock.
        public var time: String
        public var inputs: [Input]
        public var parent: Parent?
        /// The output's OpenSSF Model Signing root digest, and the `.sig` file when one was written.
        public var modelSigningRoot: String
        public var signatureFile: String?
        /// Metrics before and after, with their definitions, when the run was given data.
        public var evaluation: JSONValue = .null

        public init(version: String, time: String, inputs: [Input], parent: Parent?, modelSigningRoot: String, signatureFile: String?) {
            self.version = version
            self.time = time
            self.inputs = inputs
            self.parent = parent
            self.modelSigningRoot = modelSigningRoot
            self.signatureFile = signatureFile
        }
    }

    public static func statement(_ report: RunReport, subjects: [Statement.Subject], context: Context) -> Statement {
        let optimizer: JSONValue
        if report.droppedGroups.isEmpty {
            optimizer = .object([("action", .string(report.optimizerGroups.isEmpty ? "none" : "kept")),
                                 ("groups", .array(report.optimizerGroups.map(JSONValue.string)))])
        } else {
            optimizer = .object([("action", .string("dropped")), ("groups", .array(report.droppedGroups.map(JSONValue.string))),
                                 ("tensors", .integer(report.droppedTensors.count))])
        }
        let predicate = JSONValue.object([
            ("tool", .object([("name", .string(context.tool)), ("version", .string(context.version))])),
            ("time", .string(context.time)),
            ("inputs", .array(context.inputs.map { .object([("role", .string($0.role)), ("path", .string($0.path)), ("sha256", .string($0.sha256))]) })),
            ("parent", context.parent.map { .object([("path", .string($0.path)), ("sha256", .string($0.sha256))]) } ?? .null),
            ("target", .object([("classes", .array(report.classes.map(JSONValue.integer)))])),
            ("output_layer", report.outputLayer.map(JSONValue.string) ?? .null),
            ("passes", .array(report.passes.map { pass in
                .object([
                    ("name", .string(pass.name)),
                    ("spec", .string(pass.spec)),
                    ("parameters", .object(pass.parameters.map { ($0.name, .string($0.value)) })),
                    ("tensors", .array(pass.edits.map { edit in
                        .object([("tensor", .string(edit.tensor)), ("elements_changed", .integer(edit.elementsChanged)),
                                 ("l2", .number(edit.l2)), ("max_abs", .number(edit.maxAbs))]
                            + (edit.overflowed > 0 ? [("overflowed", .integer(edit.overflowed))] : [])
                            + (edit.madeNonFinite > 0 ? [("made_non_finite", .integer(edit.madeNonFinite))] : []))
                    })),
                ] + (pass.details == .null ? [] : [("details", pass.details)]))
            })),
            ("optimizer_state", optimizer),
            ("model_signing", .object([("root_digest", .string(context.modelSigningRoot)),
                                       ("signature", context.signatureFile.map(JSONValue.string) ?? .null)])),
            ("evaluation", context.evaluation),
        ] + (report.warnings.isEmpty ? [] : [("warnings", .array(report.warnings.map(JSONValue.string)))]))
        return Statement(subjects: subjects, predicateType: predicateType, predicate: predicate)
    }
}
