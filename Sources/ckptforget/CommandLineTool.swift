import Checkpoint
import Forgetting

/// Dispatch: the first word picks a subcommand; anything else is the forgetting run itself.
enum CommandLineTool {
    static let version = "0.1.0"

    static func run(_ words: [String]) -> ExitCode {
        do {
            switch words.first {
            case nil:
                Console.error(Help.main)
                return .badInput
            case "-h", "--help", "help":
                if words.count > 1, subcommands[words[1]] == nil {
                    throw UsageError.invalid("help \(words[1]): no such subcommand; subcommands: \(subcommands.keys.sorted().joined(separator: ", "))")
                }
                Console.output(words.count > 1 ? Help.text(for: words[1]) : Help.main)
                return .success
            case "--version":
                Console.output("ckptforget \(version)")
                return .success
            case let name? where subcommands[name] != nil:
                return try invoke(subcommands[name]!, Array(words.dropFirst()))
            default:
                return try invoke(ForgetCommand.self, words)
            }
        } catch {
            Console.error("ckptforget: error: \(error)")
            return ExitCode(for: error)
        }
    }

    /// The subcommands by name; any other first word is the input of a forgetting run.
    static let subcommands: [String: any Subcommand.Type] = [
        "inspect": InspectCommand.self, "diff": DiffCommand.self, "keygen": KeygenCommand.self,
        "verify": VerifyCommand.self, "show": ShowCommand.self, "audit": AuditCommand.self,
        "stats": StatsCommand.self, "eval": EvalCommand.self, "report": ReportCommand.self,
    ]

    /// Parses the words against the command's options (plus -h/--help, which prints its help).
    private static func invoke(_ command: any Subcommand.Type, _ words: [String]) throws -> ExitCode {
        let arguments = try Arguments(words, options: command.options + [.flag("--help", "-h")])
        if arguments.has("--help") {
            Console.output(command.help)
            return .success
        }
        return try command.run(arguments)
    }
}

/// A subcommand: its options, its `--help` text, and what it does with the parsed arguments.
protocol Subcommand: Sendable {
    static var options: [Arguments.Option] { get }
    static var help: String { get }
    static func run(_ arguments: Arguments) throws -> ExitCode
}
