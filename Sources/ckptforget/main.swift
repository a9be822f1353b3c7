import Checkpoint
#if canImport(Glibc)
import Glibc
#endif

// ckptforget: parse the command line, dispatch to a subcommand, map its outcome to an exit code.
Interrupts.install()
let status = CommandLineTool.run(Array(CommandLine.arguments.dropFirst())).rawValue
OutputTransaction.passExitGate()  // an interrupt's exit under way goes first
exit(status)
