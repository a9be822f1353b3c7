import Checkpoint
import Foundation
@testable import Manifest

/// A scratch place for hand-made records, signed with a fresh ECDSA key the checks trust: `dir/`
/// holds the records, `data.bin` and an empty `sub/`; `outside.bin` (same bytes) lies beside `dir/`.
struct RecordPlace {
    let root: String
    var dir: String { root + "/dir" }
    let trusted: PrivateKey
    let keys: [TrustedKey]
    /// The bytes of `data.bin` and `outside.bin`, and their sha256.
    let bytes: [UInt8] = Array("small file\n".utf8)
    var digest: String { SHA256.digest(bytes).hex }

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ckptforget-hostile-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: root + "/dir/sub", withIntermediateDirectories: true)
        trusted = try PrivateKey(generating: .ecdsaP256)
        keys = [TrustedKey(name: "trusted.pub.pem", key: try trusted.publicKey)]
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/dir/data.bin"))
        try Data(bytes).write(to: URL(fileURLWithPath: root + "/outside.bin"))
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }

    /// Writes a forgetting attestation naming `subjects` (each with `data.bin`'s digest) to
    /// `dir/name`, signed with `key` (unsigned when nil).
    @discardableResult
    func attestation(_ name: String, subjects: [String], signature: String? = nil, rootDigest: String = "",
                     key: PrivateKey?) throws -> String {
        let predicate = JSONValue.object([("model_signing", .object([("root_digest", .string(rootDigest)),
                                                                     ("signature", signature.map(JSONValue.string) ?? .null)]))])
        let statement = Statement(subjects: subjects.map { .init(name: $0, sha256: digest) },
                                  predicateType: ForgettingAttestation.predicateType, predicate: predicate)
        return try write(statement, to: name, key: key)
    }

    func write(_ statement: Statement, to name: String, key: PrivateKey?) throws -> String {
        let path = dir + "/" + name
        try Data(try RecordWriter.bundle(statement, key: key)).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Writes an OpenSSF Model Signing signature of `dir/model` to `dir/name`, its subject named
    /// `subject` (default: the model's name, as the writer and model_signing name it); returns the
    /// record's path and the root digest.
    @discardableResult
    func modelSignature(of model: String, to name: String, subject: String? = nil, key: PrivateKey?) throws -> (path: String, root: String) {
        let resources = try ModelSigning.resources(of: dir + "/" + model, ignoring: Set(ModelSigning.gitPaths))
        let statement = ModelSigning.statement(modelName: subject ?? model, resources: resources, ignorePaths: ModelSigning.gitPaths)
        return (try write(statement, to: name, key: key), statement.subjects[0].sha256)
    }
}
