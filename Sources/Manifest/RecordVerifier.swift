import Foundation

/// Checks records: first the signature over DSSE's PAE with the trusted keys; then, only when it
/// holds (or an unsigned record is accepted), every file the statement names against its digest
/// (OpenSSF Model Signing: the whole model, file list included). A statement is whatever its writer
/// put there, so its names are opened through `ConfinedFile`: only regular files inside the
/// directory files are looked up in, never through a symbolic link.
public enum RecordVerifier {
    /// - Parameters:
    ///   - files: where to look for the files a record names (default: beside the record); for an
    ///     OpenSSF Model Signing signature, the model itself may be given.
    public static func check(_ path: String, keys: [TrustedKey], files: String? = nil, allowUnsigned: Bool = false) throws -> RecordCheck {
        try check(bytes: try ConfinedFile.readRecord(atPath: path), path: path, keys: keys, files: files, allowUnsigned: allowUnsigned)
    }

    /// Checks a record whose bytes were read already; `path` is where they came from. A forgetting
    /// attestation's model signature is checked with it unless `followsModelSignature` is false
    /// (as it is for that signature itself: one level, never a loop).
    static func check(bytes: [UInt8], path: String, keys: [TrustedKey], files: String?, allowUnsigned: Bool,
                      followsModelSignature: Bool = true) throws -> RecordCheck {
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

        let kind: RecordCheck.Kind = switch statement.predicateType {
        case ModelSigning.predicateType: .modelSigning
        case ForgettingAttestation.predicateType: .forgettingAttestation
        default: .other(statement.predicateType)
        }
        // Nothing the statement names is opened unless a trusted key vouches for it (or the user
        // accepted an unsigned record, whose names are still confined).
        let vouched = signer != nil || (!signed && allowUnsigned)
        var checks: [RecordCheck.FileCheck] = []
        var signaturePath: String?
        if vouched {
            switch kind {
            case .modelSigning:
                let model = files ?? (path.hasSuffix(".sig") ? String(path.dropLast(4)) : path)
                try checkModel(statement, model: model, record: path, checks: &checks, problems: &problems)
            case .forgettingAttestation, .other:
                // A forgetting attestation, or any other in-toto statement: its subjects are files,
                // and X.manifest.json must attest X.
                checkSubjects(statement, in: files ?? (path as NSString).deletingLastPathComponent, checks: &checks, problems: &problems)
                problems += RecordBinding.attestationProblems(record: path, subjects: statement.subjects)
                if kind == .forgettingAttestation, followsModelSignature {
                    let signature = modelSignature(of: statement, record: path, files: files, keys: keys, allowUnsigned: allowUnsigned)
                    signaturePath = signature.path
                    problems += signature.problems
                }
            }
        }
        return RecordCheck(path: path, sha256: SHA256.digest(bytes).hex, kind: kind, statement: statement, signer: signer?.name,
                           signed: signed, filesChecked: vouched, files: checks, modelSignature: signaturePath, problems: problems)
    }

    /// Each subject against the file of that name below `directory`: refused (by its name, or
    /// because it is not a regular file reached through real directories), missing, changed, or
    /// matching.
    static func checkSubjects(_ statement: Statement, in directory: String,
                              checks: inout [RecordCheck.FileCheck], problems: inout [String]) {
        for subject in statement.subjects {
            let file = (directory.isEmpty ? "" : directory.hasSuffix("/") ? directory : directory + "/") + subject.name
            let opened: FileHandle?
            do {
                opened = try ConfinedFile.open(subject.name, in: directory)
            } catch {
                checks.append(.init(name: subject.name, path: file, expected: subject.sha256, actual: nil, refused: error.description))
                problems.append(refusal(subject.name, error))
                continue
            }
            var actual: String?
            if let handle = opened {
                do { actual = try SHA256.digest(of: handle).hex } catch {
                    problems.append("\(file): cannot be read: \(error.localizedDescription)")
                    checks.append(.init(name: subject.name, path: file, expected: subject.sha256, actual: nil))
                    continue
                }
            }
            checks.append(.init(name: subject.name, path: file, expected: subject.sha256, actual: actual))
            if let actual {
                if actual != subject.sha256 { problems.append("\(file): changed: the record says sha256 \(subject.sha256), the file has \(actual)") }
            } else {
                problems.append("\(file): missing (the record names it with sha256 \(subject.sha256))")
            }
        }
    }

    /// The problem line for a name that was not opened: the name quoted (escaped: it cannot forge
    /// a line of output) and why.
    static func refusal(_ name: String, _ why: SubjectRefusal, what: String = "subject") -> String {
        "\(what) \(ConfinedFile.quoted(name)) refused, not opened: \(why)"
    }
}
