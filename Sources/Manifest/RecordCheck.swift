/// The result of checking one record: who signed it, what it says, and every way it does not hold.
public struct RecordCheck: Sendable {
    public enum Kind: Sendable, Equatable {
        case modelSigning, forgettingAttestation
        case other(String)
    }

    public let path: String
    /// SHA-256 of the record file's bytes (how a child record names it as parent).
    public let sha256: String
    public let kind: Kind
    /// What the record says; vouched for only when `signer` is set (or an unsigned record was accepted).
    public let statement: Statement
    /// The trusted key that verified the signature, by its description; nil if none did.
    public let signer: String?
    public let signed: Bool
    /// Whether the files the record names were looked at: only once the signature holds (or an
    /// unsigned record was accepted), never for a statement no trusted key vouches for.
    public let filesChecked: Bool
    /// Files the record names, each with what it expects and what was found.
    public let files: [FileCheck]
    /// The OpenSSF Model Signing signature a forgetting attestation names, checked with it (its
    /// problems are among `problems`); nil when none is named or it was not looked at.
    public let modelSignature: String?
    /// Everything that fails, in words a user can act on; empty when the record holds.
    public let problems: [String]

    public struct FileCheck: Sendable {
        public let name: String
        public let path: String
        public let expected: String
        /// nil when the file is missing or was refused.
        public let actual: String?
        /// Why the name was not opened (a `SubjectRefusal`, in words); nil when it was looked up.
        public let refused: String?

        init(name: String, path: String, expected: String, actual: String?, refused: String? = nil) {
            self.name = name
            self.path = path
            self.expected = expected
            self.actual = actual
            self.refused = refused
        }
    }

    public var holds: Bool { problems.isEmpty }
}
