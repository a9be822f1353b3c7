#if canImport(Glibc)
import Glibc
#endif

// ckptforget: parse the command line, dispatch to a subcommand, map its outcome to an exit code.
Interrupts.install()
exit(CommandLineTool.run(Array(CommandLine.arguments.dropFirst())).rawValue)
