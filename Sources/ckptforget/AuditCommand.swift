import Foundation
import Manifest

/// `ckptforget audit PATH... --key PUB... | --keys DIR [--json]`: every record, every link.
enum AuditCommand: Subcommand {
    static var help: String { Help.audit }

    static let options: [Arguments.Option] = [.value("--key", "-k", repeatable: true), .value("--keys"), .flag("--json")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard !arguments.operands.isEmpty else { throw UsageError.invalid("audit needs a path (usage: ckptforget audit DIR --keys TRUSTED/)") }
        let audit = try Audit.run(paths: arguments.operands, keys: try VerifyCommand.trustedKeys(arguments))
        if arguments.has("--json") {
            Console.output(Summary.jsonText([
                "holds": audit.problems.isEmpty,
                "problems": audit.problems,
                "chains": audit.chains.map { chain in chain.map { link in
                    [
                        "record": link.check.path, "sha256": link.check.sha256, "signer": link.check.signer as Any? ?? NSNull(),
                        "parent": link.parentPath as Any? ?? NSNull(), "outputs": link.check.statement.subjects.map(\.name),
                        "passes": passes(link), "problems": link.problems,
                    ] as [String: Any]
                } },
            ] as [String: Any]))
        } else {
            var lines: [String] = []
            for (number, chain) in audit.chains.enumerated() {
                let origin = chain.first?.check.statement.predicate["inputs"]?.array?.first?["path"]?.string ?? "?"
                lines.append("model \(number + 1): \(origin)")
                for link in chain {
                    let outputs = link.check.statement.subjects.map(\.name).joined(separator: ", ")
                    let mark = link.problems.isEmpty ? "ok    " : "FAILED"
                    lines.append("  \(mark) → \(outputs)  [\(passes(link).joined(separator: " "))]  \(link.check.path)")
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
