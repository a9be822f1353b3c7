import Checkpoint
import Foundation
import Manifest

/// `ckptforget verify RECORD --key PUB [--files DIR] [--allow-unsigned] [--json]`: one record.
enum VerifyCommand: Subcommand {
    static var help: String { Help.verify }

    static let options: [Arguments.Option] = [.value("--key", "-k", repeatable: true), .value("--keys"), .value("--files"),
                                              .flag("--allow-unsigned"), .flag("--json")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1 else { throw UsageError.invalid("verify takes one record (usage: ckptforget verify RECORD --key PUB)") }
        let keys = try SharedOptions.trustedKeys(arguments)
        let check: RecordCheck
        do {
            check = try RecordVerifier.check(arguments.operands[0], keys: keys, files: arguments.value("--files"),
                                             allowUnsigned: arguments.has("--allow-unsigned"))
        } catch let error as SigningError {
            // A record that is not a valid record does not verify (audit counts it the same way).
            Console.error("ckptforget: \(error)")
            return .verificationFailed
        }
        if arguments.has("--json") {
            Console.output(json(check).pretty)
        } else {
            Console.output(describe(check))
        }
        return check.holds ? .success : .verificationFailed
    }

    static func kindName(_ kind: RecordCheck.Kind) -> String {
        switch kind {
        case .modelSigning: "OpenSSF Model Signing signature"
        case .forgettingAttestation: "forgetting attestation"
        case .other(let type): "in-toto statement (\(type))"
        }
    }

    static func describe(_ check: RecordCheck) -> String {
        var lines = ["\(check.path): \(kindName(check.kind))"]
        lines.append("  signature: " + (check.signer.map { "valid, \($0)" } ?? (check.signed ? "NOT VALID with the given keys" : "none (unsigned)")))
        if !check.filesChecked {
            lines.append("  files: not opened (nothing a record says is looked at before its signature holds)")
        }
        for file in check.files {
            let state = file.refused != nil ? "REFUSED" : file.actual == nil ? "MISSING" : file.actual == file.expected ? "ok" : "CHANGED"
            // A refused name is shown quoted and escaped: it came from the record, not from the disk.
            let shown = file.refused == nil ? file.path : ConfinedFile.quoted(file.name)
            lines.append("  \(state.padding(toLength: 7, withPad: " ", startingAt: 0)) \(shown)  sha256 \(file.expected.prefix(16))…")
        }
        if let signature = check.modelSignature {
            lines.append("  model signature: \(signature)")
        }
        if check.holds {
            lines.append("verified: \(check.files.count) file\(check.files.count == 1 ? "" : "s") match")
        } else {
            lines += check.problems.map { "FAILED: \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ check: RecordCheck) -> JSONValue {
        [
            "record": .string(check.path), "sha256": .string(check.sha256), "kind": .string(kindName(check.kind)),
            "predicate_type": .string(check.statement.predicateType), "signed": .bool(check.signed),
            "signer": JSONValue(check.signer), "holds": .bool(check.holds), "problems": JSONValue(check.problems),
            "files_checked": .bool(check.filesChecked), "model_signature": JSONValue(check.modelSignature),
            "files": .array(check.files.map {
                ["name": .string($0.name), "path": .string($0.path), "expected_sha256": .string($0.expected), "actual_sha256": JSONValue($0.actual),
                 "refused": JSONValue($0.refused)]
            }),
        ]
    }
}
