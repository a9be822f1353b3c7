import Foundation

extension RecordVerifier {
    /// The OpenSSF Model Signing signature a forgetting attestation names
    /// (`predicate.model_signing.signature`, relative to the attestation's directory: the writer
    /// puts it beside the model), checked as part of the attestation: it must be there, be a model
    /// signature that holds with the same keys, and sign the root digest the attestation binds
    /// (`model_signing.root_digest`). Its name is confined like a subject's.
    /// - Parameters:
    ///   - files: where the attestation's files are looked up (`--files`); the signed model is
    ///     looked up there too, under the signature's name less `.sig`.
    /// - Returns: the signature's path when one is named, and every problem with it.
    static func modelSignature(of statement: Statement, record: String, files: String?, keys: [TrustedKey],
                               allowUnsigned: Bool) -> (path: String?, problems: [String]) {
        guard let binding = statement.predicate["model_signing"], let name = binding["signature"]?.string else { return (nil, []) }
        let directory = (record as NSString).deletingLastPathComponent
        let path = (directory.isEmpty ? "" : directory + "/") + name
        guard name.hasSuffix(".sig") else {
            return (nil, ["model signature \(ConfinedFile.quoted(name)) refused, not opened: not a .sig file (the signature of model X is X.sig)"])
        }
        let opened: FileHandle?
        do {
            opened = try ConfinedFile.open(name, in: directory)
        } catch {
            return (nil, [refusal(name, error, what: "model signature")])
        }
        guard let handle = opened else {
            return (path, ["\(path): missing: \(record) says the model's OpenSSF Model Signing signature was written there (restore it beside the model)"])
        }
        let model = files.map { (($0 as NSString).appendingPathComponent(String(name.dropLast(4)))) }
        let signature: RecordCheck
        do {
            signature = try check(bytes: try ConfinedFile.readAll(handle, path: path), path: path, keys: keys, files: model,
                                  allowUnsigned: allowUnsigned, followsModelSignature: false)
        } catch {
            return (path, ["\(error)"])
        }
        guard signature.kind == .modelSigning else {
            return (path, ["\(path): not an OpenSSF Model Signing signature (its predicate type is \(ConfinedFile.quoted(signature.statement.predicateType)))"])
        }
        var problems = signature.problems.map { $0.hasPrefix(path) ? $0 : "\(path): \($0)" }
        if signature.filesChecked, let root = binding["root_digest"]?.string, signature.statement.subjects.first?.sha256 != root {
            problems.append("\(path): signs root digest \(signature.statement.subjects.first?.sha256 ?? "?"), but \(record) binds \(ConfinedFile.printable(root))")
        }
        return (path, problems)
    }
}
