import Checkpoint
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// On SIGINT, SIGTERM or SIGHUP: remove every temporary output file, then exit 128 + signal, so an
/// interrupted run leaves no output behind. A commit under way is finished first, and the message
/// says what was written. On a crash (a fatal signal), temporary files are removed too.
enum Interrupts {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        CrashCleanup.install()
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                // No temporary file can be created from the abort to the exit, nor can the main thread exit first.
                OutputTransaction.abortAllAndExit { committed in
                    Console.raw(committed.isEmpty ? "\nckptforget: interrupted; no output written\n"
                        : "\nckptforget: interrupted after the output was written: \(committed.joined(separator: ", "))\n")
                    _exit(128 + signalNumber)  // no atexit handlers while the main thread may be inside libhdf5
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}
