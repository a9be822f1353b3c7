import Checkpoint
import Foundation
import Manifest

/// `ckptforget audit PATH... --key PUB... | --keys DIR [--json]`: every record, every link.
enum AuditCommand: Subcommand {
    static var help: String { Help.audit }

    static let options: [Arguments.Option] = [.value("--key", "-k", repeatable: true), .value("--keys"), .flag("--json")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard !arguments.operands.isEmpty else { throw UsageError.invalid("audit needs a path (usage: ckptforget audit DIR --keys TRUSTED/)") }
        let audit = try Audit.run(paths: arguments.operands, keys: try SharedOptions.trustedKeys(arguments))
        if arguments.has("--json") {
            let object: JSONValue = [
                "holds": .bool(audit.problems.isEmpty),
                "problems": JSONValue(audit.problems),
                "chains": .array(audit.chains.map { chain in .array(chain.map { link in
                    [
                        "record": .string(link.check.path), "sha256": .string(link.check.sha256), "signer": JSONValue(link.check.signer),
                        "parent": JSONValue(link.parentPath), "outputs": JSONValue(link.check.statement.subjects.map(\.name)),
                        "passes": JSONValue(passes(link)), "problems": JSONValue(link.problems),
                    ]
                }) }),
            ]
            Console.output(object.pretty)
        } else {
            var lines: [String] = []
            for (number, chain) in audit.chains.enumerated() {
                let origin = ConfinedFile.printable(chain.first?.check.statement.predicate["inputs"]?.array?.first?["path"]?.string ?? "?")
                lines.append("model \(number + 1): \(origin)")
                for link in chain {
                    let outputs = link.check.statement.subjects.map { ConfinedFile.printable($0.name) }.joined(separator: ", ")
                    let mark = link.problems.isEmpty ? "ok    " : "FAILED"
                    lines.append("  \(mark) → \(outputs)  [\(passes(link).map(ConfinedFile.printable).joined(separator: " "))]  \(link.check.path)")
                    lines += link.problems.map { "         \($0)" }
                }
            }
            let records = audit.chains.reduce(0) { $0 + $1.count }
            lines.append(audit.problems.isEmpty ? "audit: \(records) records in \(audit.chains.count) chains; all hold"
                                                : "audit: \(audit.problems.count) problems in \(records) records")
            Console.output(lines.joined(separator: "\n"))
        }
        return audit.problems.isEmpty ? .success : .verificationFailed
    }

    /// The passes a record lists, with its classes: `dampen:0.01 class 2`.
    private static func passes(_ link: Audit.Link) -> [String] {
        let predicate = link.check.statement.predicate
        let specs = predicate["passes"]?.array?.compactMap { $0["spec"]?.string } ?? []
        let classes = predicate["target"]?["classes"]?.array?.compactMap(\.int) ?? []
        return specs + (classes.isEmpty ? [] : ["class " + classes.map(String.init).joined(separator: ",")])
    }
}
