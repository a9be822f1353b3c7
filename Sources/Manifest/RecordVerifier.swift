import Foundation

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
}
