import Checkpoint
#if canImport(Glibc)
import Glibc
#endif

// ckptforget: parse the command line, dispatch to a subcommand, map its outcome to an exit code.
Interrupts.install()
// Swift strings hold valid UTF-8 only: an argument that is not (a file name in another encoding)
// would silently become another name, so it is refused.
for index in 1..<Int(CommandLine.argc) {
    guard let raw = CommandLine.unsafeArgv[index] else { continue }
    let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
    if String(validating: bytes, as: UTF8.self) == nil {
        Console.error("ckptforget: error: argument \(index) is not valid UTF-8 (\(bytes.count) bytes); ckptforget reads UTF-8 names only: rename the file")
        exit(ExitCode.badInput.rawValue)
    }
}
let status = CommandLineTool.run(Array(CommandLine.arguments.dropFirst())).rawValue
OutputTransaction.passExitGate()  // an interrupt's exit under way goes first
exit(status)
