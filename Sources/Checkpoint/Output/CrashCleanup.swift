import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Temporary files to remove if the process dies of a fatal signal (a crash inside a C library,
/// a Swift trap): a fixed table of C strings that a signal handler can walk with only `unlink`,
/// which is async-signal-safe. The handler then hands the signal to the handler it replaced (the
/// Swift runtime's backtracer), so the crash is still reported.
public enum CrashCleanup {
    static let capacity = 1024
    /// Slots hold `strdup`ed paths; a slot is only ever set to a new pointer or to nil, and strings
    /// are never freed, so a handler that runs at any moment reads valid memory.
    nonisolated(unsafe) private static let slots: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: capacity)
        slots.initialize(repeating: nil, count: capacity)
        return slots
    }()
    private static let lock = Mutex(())
    /// The handler each signal had before, by signal number.
    nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = {
        let table = UnsafeMutablePointer<sigaction>.allocate(capacity: 65)
        table.initialize(repeating: sigaction(), count: 65)
        return table
    }()

    /// The fatal signals cleaned up after.
    static let signals: [Int32] = [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGXCPU]

    static func register(_ path: String) {
        lock.withLock { _ in
            guard let empty = (0..<capacity).first(where: { slots[$0] == nil }) else { return }
            slots[empty] = strdup(path)
        }
    }

    static func unregister(_ path: String) {
        lock.withLock { _ in
            for index in 0..<capacity where slots[index].map({ String(cString: $0) == path }) == true { slots[index] = nil }
        }
    }

    /// Installs the handler for the fatal signals, once, before any output is written; and ignores
    /// SIGXFSZ, so that a write past the file-size limit fails with an error instead of killing.
    public static func install() {
        _ = (slots, previous)
        signal(SIGXFSZ, SIG_IGN)
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { number, _, _ in
                for index in 0..<CrashCleanup.capacity {
                    if let path = CrashCleanup.slots[index] { unlink(path) }
                }
                // Hand the signal on: restore the handler this one replaced and raise the signal
                // again; it is delivered to that handler as this one returns (a fault or trap also
                // happens again on return).
                sigaction(number, CrashCleanup.previous + Int(number), nil)
                raise(number)
            }
            action.sa_flags = SA_SIGINFO | SA_ONSTACK
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, previous + Int(number))
        }
    }
}
