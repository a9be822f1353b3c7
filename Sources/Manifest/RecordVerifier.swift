import Foundation

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
    public let statement: Statement
    /// The trusted key that verified the signature, by its description; nil if none did.
    public let signer: String?
    public let signed: Bool
    /// Files the record names, each with what it expects and what was found.
    public let files: [FileCheck]
    /// Everything that fails, in words a user can act on; empty when the record holds.
    public let problems: [String]

    public struct FileCheck: Sendable {
        public let name: String
        public let path: String
        public let expected: String
        /// nil when the file is missing.
        public let actual: String?
    }

    public var holds: Bool { problems.isEmpty }
}

/// A public key a verifier trusts, with the name it is reported under (its file).
public struct TrustedKey: Sendable {
    public let name: String
    public let key: PublicKey

    public init(name: String, key: PublicKey) {
        self.name = name
        self.key = key
    }

    /// Every public key in `directory` (files ending .pem), and the .pem files that hold none, each
    /// with the reason (a private key, a damaged file), so that a caller can name them.
    public static func all(in directory: String) throws -> (keys: [TrustedKey], skipped: [(path: String, reason: String)]) {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory) else {
            throw SigningError.unreadable(path: directory, reason: "not a directory of public keys")
        }
        var keys: [TrustedKey] = [], skipped: [(String, String)] = []
        for name in entries.sorted() where name.hasSuffix(".pem") {
            let path = (directory as NSString).appendingPathComponent(name)
            do {
                keys.append(TrustedKey(name: path, key: try PublicKey(pemFile: path)))
            } catch {
                skipped.append((path, "\(error)"))
            }
        }
        guard !keys.isEmpty else { throw SigningError.badKey(path: directory, reason: "holds no PEM public key") }
        return (keys, skipped)
    }
}

/// Checks records: the signature over DSSE's PAE with the trusted keys, then every file the
/// statement names against its digest (OpenSSF Model Signing: the whole model, file list included).
public enum RecordVerifier {
    /// - Parameters:
    ///   - files: where to look for the files a record names (default: beside the record); for an
    ///     OpenSSF Model Signing signature, the model itself may be given.
    public static func check(_ path: String, keys: [TrustedKey], files: String? = nil, allowUnsigned: Bool = false) throws -> RecordCheck {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SigningError.unreadable(path: path, reason: "no such file")
        }
        let bytes = [UInt8](data)
        let bundle = try SigstoreBundle(bytes: bytes, path: path)
        var problems: [String] = []

        let signer = keys.first { bundle.envelope.isSigned(by: $0.key) }
        let signed = !bundle.envelope.signatures.isEmpty
        let statement: Statement
        do {
            statement = try Statement(payload: bundle.envelope.payload, path: path)
        } catch where signed && signer == nil {
            // A payload damaged so badly it no longer parses: report the broken signature, not the JSON.
            statement = Statement(subjects: [], predicateType: "", predicate: .null)
        }
        if !signed {
            if !allowUnsigned { problems.append("unsigned: the record carries no signature (--allow-unsigned accepts that)") }
        } else if signer == nil {
            let hinted = keys.contains { $0.key.hint == bundle.keyHint }
            problems.append(hinted ? "bad signature: it does not verify with \(keys.first { $0.key.hint == bundle.keyHint }!.name) although the key hint names that key (the record was altered)"
                                   : "unknown signer: no trusted key verifies the signature (key hint \(bundle.keyHint.prefix(16))…)")
        }
        if bundle.envelope.payloadType != DSSE.inTotoPayloadType {
            problems.append("payloadType is \(bundle.envelope.payloadType), expected \(DSSE.inTotoPayloadType)")
        }

        let kind: RecordCheck.Kind
        var checks: [RecordCheck.FileCheck] = []
        let directory = (path as NSString).deletingLastPathComponent
        switch statement.predicateType {
        case ModelSigning.predicateType:
            kind = .modelSigning
            let model = files ?? (path.hasSuffix(".sig") ? String(path.dropLast(4)) : path)
            try checkModel(statement, model: model, record: path, checks: &checks, problems: &problems)
        default:
            // A forgetting attestation, or any other in-toto statement: its subjects are files.
            kind = statement.predicateType == ForgettingAttestation.predicateType ? .forgettingAttestation : .other(statement.predicateType)
            for subject in statement.subjects {
                let file = ((files ?? directory) as NSString).appendingPathComponent(subject.name)
                let actual = try? SHA256.digest(ofFile: file).hex
                checks.append(.init(name: subject.name, path: file, expected: subject.sha256, actual: actual))
                if actual == nil { problems.append("\(file): missing (the record names it with sha256 \(subject.sha256))") }
                else if actual != subject.sha256 { problems.append("\(file): changed: the record says sha256 \(subject.sha256), the file has \(actual!)") }
            }
        }
        return RecordCheck(path: path, sha256: SHA256.digest(bytes).hex, kind: kind, statement: statement, signer: signer?.name,
                           signed: signed, files: checks, problems: problems)
    }

    /// OpenSSF Model Signing: one subject whose digest is the root of the listed resources, and
    /// resources that are exactly the model's files now.
    private static func checkModel(_ statement: Statement, model: String, record: String,
                                   checks: inout [RecordCheck.FileCheck], problems: inout [String]) throws {
        guard statement.subjects.count == 1 else {
            problems.append("an OpenSSF Model Signing statement has exactly one subject; this one has \(statement.subjects.count)")
            return
        }
        let serialization = statement.predicate["serialization"]
        if serialization?["method"]?.string != "files" || serialization?["hash_type"]?.string != "sha256" {
            problems.append("serialization is \(serialization?["method"]?.string ?? "?")/\(serialization?["hash_type"]?.string ?? "?"); ckptforget verifies files/sha256 signatures")
            return
        }
        let listed = try ModelSigning.listedResources(statement, path: record)
        if ModelSigning.rootDigest(listed).hex != statement.subjects[0].sha256 {
            problems.append("the subject's digest is not the root digest of the listed resources")
        }
        let ignore = Set(statement.predicate["serialization"]?["ignore_paths"]?.array?.compactMap(\.string) ?? []).union(ModelSigning.gitPaths)
        let recordName = RecordPaths.relative(record, to: model)
        guard let present = try? ModelSigning.resources(of: model, ignoring: ignore.union([recordName])) else {
            problems.append("\(model): missing (the signature is for this model)")
            return
        }
        let found = Dictionary(present.map { ($0.name, $0.digest.hex) }, uniquingKeysWith: { a, _ in a })
        for resource in listed {
            let file = resource.name == "." ? model : (model as NSString).appendingPathComponent(resource.name)
            checks.append(.init(name: resource.name, path: file, expected: resource.digest.hex, actual: found[resource.name]))
            if found[resource.name] == nil { problems.append("\(file): missing (signed with sha256 \(resource.digest.hex))") }
            else if found[resource.name] != resource.digest.hex {
                problems.append("\(file): changed: signed sha256 \(resource.digest.hex), the file has \(found[resource.name]!)")
            }
        }
        let signedNames = Set(listed.map(\.name))
        for extra in present where !signedNames.contains(extra.name) {
            problems.append("\((model as NSString).appendingPathComponent(extra.name)): not covered by the signature (a file was added to the model)")
        }
    }
}
