import Checkpoint
import Forgetting
import Foundation

/// A record found for an input: the attestation a previous run wrote for it.
public struct ParentRecord: Sendable {
    public let path: String
    public let sha256: String
    public let statement: Statement

    /// The attestation of `model` (`MODEL.manifest.json` beside it) or the one named; nil if there is none.
    public static func find(for model: String, explicit: String?) throws -> ParentRecord? {
        let path = explicit ?? model + ".manifest.json"
        guard let data = FileManager.default.contents(atPath: path) else {
            if explicit != nil { throw SigningError.unreadable(path: path, reason: "no such file") }
            return nil
        }
        let bundle = try SigstoreBundle(bytes: [UInt8](data), path: path)
        return ParentRecord(path: path, sha256: SHA256.digest([UInt8](data)).hex,
                            statement: try Statement(payload: bundle.envelope.payload, path: path))
    }

    /// Checks that every file of the input is a subject of this record with the digest it has now.
    public func check(inputFiles digests: [String: [UInt8]]) throws {
        let directory = (path as NSString).deletingLastPathComponent
        let attested = Dictionary(statement.subjects.map { (RecordPaths.absolute((directory as NSString).appendingPathComponent($0.name)), $0.sha256) },
                                  uniquingKeysWith: { a, _ in a })
        for (file, digest) in digests.sorted(by: { $0.key < $1.key }) {
            guard let recorded = attested[RecordPaths.absolute(file)] else {
                throw LineageError.notAttested(input: file, record: path)
            }
            guard recorded == digest.hex else {
                throw LineageError.changed(input: file, record: path, recorded: recorded, actual: digest.hex)
            }
        }
    }
}

/// An input that does not match the attestation found for it (exit 2: nothing is written).
public enum LineageError: Error, Equatable, CustomStringConvertible {
    case changed(input: String, record: String, recorded: String, actual: String)
    case notAttested(input: String, record: String)

    public var description: String {
        switch self {
        case .changed(let input, let record, let recorded, let actual):
            "\(input) changed after its attestation was made: \(record) records sha256 \(recorded), the file has \(actual) (name the right record with --parent, or move the stale one away)"
        case .notAttested(let input, let record):
            "\(record) does not attest \(input) (it is another file's record; give the right one with --parent)"
        }
    }
}

/// Writes a run's records into the run's output transaction, so they are renamed into place after
/// the model's files in the same commit (and removed with them when the run fails before it):
/// `MODEL.sig` (OpenSSF Model Signing, ECDSA keys only) and `MODEL.manifest.json` (the forgetting
/// attestation) beside MODEL, the output file or the directory of a sharded output.
public struct RecordWriter {
    /// The model: the output file, or the directory of a sharded output.
    public let model: String
    public let signaturePath: String?
    public let manifestPath: String
    public let key: PrivateKey?
    public let version: String

    /// Record paths for `model`; `.sig` only with an ECDSA key (OpenSSF Model Signing needs ECDSA).
    public init(model: String, manifestPath: String?, key: PrivateKey?, version: String) {
        self.model = RecordPaths.absolute(model)
        self.manifestPath = manifestPath ?? self.model + ".manifest.json"
        signaturePath = key?.algorithm.isECDSA == true ? self.model + ".sig" : nil
        self.key = key
        self.version = version
    }

    public var files: [String] { [signaturePath, manifestPath].compactMap { $0 } }

    /// Why an attestation written at `manifest` for `model` could never verify, or nil: its names
    /// are relative to its own directory and `verify` opens only files inside that directory, so
    /// it must sit in the directory that holds the model or one above it; and a name ending in
    /// `.manifest.json` claims the model of that name, so it must be the model's own.
    public static func problem(withManifest manifest: String, model: String) -> String? {
        let (manifest, model) = (RecordPaths.absolute(manifest), RecordPaths.absolute(model))
        let directory = (manifest as NSString).deletingLastPathComponent
        let fromRecord = RecordPaths.relative(model, to: directory)
        if fromRecord.isEmpty || fromRecord.split(separator: "/").contains("..") {
            return "the attestation names the model's files relative to its own directory, and verify opens only files inside it: "
                + "put it in \((model as NSString).deletingLastPathComponent) (the directory holding the model) or a directory above it"
        }
        if manifest.hasSuffix(RecordBinding.attestationSuffix), manifest != model + RecordBinding.attestationSuffix {
            return "a record named *\(RecordBinding.attestationSuffix) must attest the model of that name (verify holds records to their names): "
                + "use \(model)\(RecordBinding.attestationSuffix), or a name not ending in \(RecordBinding.attestationSuffix)"
        }
        return nil
    }

    /// Signs and writes the records. `outputs` are the output files with their digests (computed
    /// from the temporary files the transaction will rename to them). Returns the forgetting
    /// attestation's statement, as written (a report page shows it).
    @discardableResult
    public func write(report: RunReport, outputs: [String: [UInt8]], inputs: [ForgettingAttestation.Input],
                      parent: ParentRecord?, evaluation: JSONValue? = nil, into transaction: OutputTransaction) throws -> Statement {
        let known = Dictionary(uniqueKeysWithValues: outputs.map { (RecordPaths.absolute($0.key), $0.value) })
        let skipped = Set(transaction.files.map { RecordPaths.absolute($0.temporary) })
        let resources = try ModelSigning.resources(of: model, ignoring: Set(ModelSigning.gitPaths), adding: known, skipping: skipped)
        let root = ModelSigning.rootDigest(resources).hex

        if let signaturePath, let key {
            let statement = ModelSigning.statement(modelName: (model as NSString).lastPathComponent, resources: resources,
                                                   ignorePaths: ModelSigning.gitPaths)
            try transaction.write(try Self.bundle(statement, key: key), to: signaturePath)
        }
        let directory = (manifestPath as NSString).deletingLastPathComponent
        let subjects = known.keys.sorted().map { Statement.Subject(name: RecordPaths.relative($0, to: directory), sha256: known[$0]!.hex) }
        let context = ForgettingAttestation.Context(
            version: version, time: RecordPaths.timestamp(), inputs: inputs,
            parent: parent.map { .init(path: RecordPaths.relative($0.path, to: directory), sha256: $0.sha256) },
            modelSigningRoot: root, signatureFile: signaturePath.map { RecordPaths.relative($0, to: directory) })
        var relativeInputs = context
        relativeInputs.evaluation = evaluation ?? .null
        relativeInputs.inputs = inputs.map { .init(role: $0.role, path: RecordPaths.relative($0.path, to: directory), sha256: $0.sha256) }
        let attestation = ForgettingAttestation.statement(report, subjects: subjects, context: relativeInputs)
        try transaction.write(try Self.bundle(attestation, key: key), to: manifestPath)
        return attestation
    }

    /// A statement in a DSSE envelope in a Sigstore bundle, signed when there is a key.
    static func bundle(_ statement: Statement, key: PrivateKey?) throws -> [UInt8] {
        var envelope = DSSEEnvelope(payload: Array(statement.json.compact.utf8))
        if let key { try envelope.sign(with: key) }
        let hint = try key.map { try $0.publicKey.hint } ?? ""
        return Array(SigstoreBundle(envelope: envelope, keyHint: hint).json.compact.utf8)
    }
}
