import Checkpoint
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// On SIGINT, SIGTERM or SIGHUP: remove every temporary output file, then exit 128 + signal,
/// so an interrupted run leaves no output behind.
enum Interrupts {
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    static func install() {
        for signalNumber in [SIGINT, SIGTERM, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                OutputTransaction.abortAll()
                Console.raw("\nckptforget: interrupted; no output written\n")
                _exit(128 + signalNumber)  // no atexit handlers while the main thread may be inside libhdf5
            }
            source.resume()
            sources.append(source)
        }
    }
}
