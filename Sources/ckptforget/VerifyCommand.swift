import Foundation
import Manifest

/// `ckptforget verify RECORD --key PUB [--files DIR] [--allow-unsigned] [--json]`: one record.
enum VerifyCommand: Subcommand {
    static var help: String { Help.verify }

    static let options: [Arguments.Option] = [.value("--key", "-k", repeatable: true), .value("--keys"), .value("--files"),
                                              .flag("--allow-unsigned"), .flag("--json")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1 else { throw UsageError.invalid("verify takes one record (usage: ckptforget verify RECORD --key PUB)") }
        let keys = try trustedKeys(arguments)
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
            Console.output(Summary.jsonText(json(check)))
        } else {
            Console.output(describe(check))
        }
        return check.holds ? .success : .verificationFailed
    }

    /// `--key PUB` (repeatable) and/or `--keys DIR`; at least one.
    static func trustedKeys(_ arguments: Arguments) throws -> [TrustedKey] {
        var keys = try arguments.all("--key").map { TrustedKey(name: $0, key: try PublicKey(pemFile: $0)) }
        if let directory = arguments.value("--keys") { keys += try TrustedKey.all(in: directory) }
        guard !keys.isEmpty else { throw UsageError.invalid("no trusted key: give --key PUB.pem or --keys DIR") }
        return keys
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
        for file in check.files {
            let state = file.actual == nil ? "MISSING" : file.actual == file.expected ? "ok" : "CHANGED"
            lines.append("  \(state.padding(toLength: 7, withPad: " ", startingAt: 0)) \(file.path)  sha256 \(file.expected.prefix(16))…")
        }
        if check.holds {
            lines.append("verified: \(check.files.count) file\(check.files.count == 1 ? "" : "s") match")
        } else {
            lines += check.problems.map { "FAILED: \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    static func json(_ check: RecordCheck) -> [String: Any] {
        [
            "record": check.path, "sha256": check.sha256, "kind": kindName(check.kind),
            "predicate_type": check.statement.predicateType, "signed": check.signed,
            "signer": check.signer as Any? ?? NSNull(), "holds": check.holds, "problems": check.problems,
            "files": check.files.map { ["name": $0.name, "path": $0.path, "expected_sha256": $0.expected, "actual_sha256": $0.actual as Any? ?? NSNull()] },
        ]
    }
}
