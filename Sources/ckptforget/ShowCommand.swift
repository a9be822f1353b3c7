import Checkpoint
import Foundation
import Manifest

/// `ckptforget show RECORD [--json]`: the statement inside a record, decoded (no verification).
enum ShowCommand: Subcommand {
    static var help: String { Help.show }

    static let options: [Arguments.Option] = [.flag("--json")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1, let path = arguments.operands.first else {
            throw UsageError.invalid("show takes one record (usage: ckptforget show RECORD [--json])")
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw SigningError.unreadable(path: path, reason: "no such file") }
        let bundle = try SigstoreBundle(bytes: [UInt8](data), path: path)
        let statement = try Statement(payload: bundle.envelope.payload, path: path)
        if arguments.has("--json") {
            Console.output(statement.json.pretty.trimmingSuffix("\n"))
            return .success
        }
        var lines = ["\(path): \(statement.predicateType)",
                     "signatures: \(bundle.envelope.signatures.count)" + (bundle.keyHint.isEmpty ? "" : " (key hint \(bundle.keyHint))")]
        lines += statement.subjects.map { "subject: \($0.name)  sha256 \($0.sha256)" }
        lines += render(statement.predicate, indent: "")
        Console.output(lines.joined(separator: "\n"))
        return .success
    }

    /// The predicate as indented `key: value` lines.
    private static func render(_ value: JSONValue, indent: String) -> [String] {
        switch value {
        case .object(let members):
            return members.flatMap { key, member -> [String] in
                switch member {
                case .object, .array: ["\(indent)\(key):"] + render(member, indent: indent + "  ")
                default: ["\(indent)\(key): \(member.compact)"]
                }
            }
        case .array(let items):
            return items.enumerated().flatMap { index, item -> [String] in
                switch item {
                case .object, .array: ["\(indent)- [\(index)]"] + render(item, indent: indent + "  ")
                default: ["\(indent)- \(item.compact)"]
                }
            }
        default:
            return ["\(indent)\(value.compact)"]
        }
    }
}
