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
                Console.output(words.count > 1 && words[0] == "help" ? Help.text(for: words[1]) : Help.main)
                return .success
            case "--version":
                Console.output("ckptforget \(version)")
                return .success
            case "inspect":
                return try InspectCommand.run(Array(words.dropFirst()))
            case "diff":
                return try DiffCommand.run(Array(words.dropFirst()))
            case "verify":
                return try VerifyCommand.run(Array(words.dropFirst()))
            case "audit":
                return try AuditCommand.run(Array(words.dropFirst()))
            case "show":
                return try ShowCommand.run(Array(words.dropFirst()))
            case "keygen":
                return try KeygenCommand.run(Array(words.dropFirst()))
            default:
                return try ForgetCommand.run(words)
            }
        } catch {
            Console.error("ckptforget: error: \(error)")
            return ExitCode(for: error)
        }
    }
}
