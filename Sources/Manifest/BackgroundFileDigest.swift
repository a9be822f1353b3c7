#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization

/// One file's SHA-256, hashed on a thread of its own while the run goes on, at idle priority
/// where asked: the thread then takes a core only when nothing else of the process (or the
/// machine) wants it, so it fills the gaps of the rewrite instead of taking half a core from it.
/// Whoever waits for the digest hashes what is left itself, at its own priority, so a machine
/// busy with other work cannot hold the run up. On the bench's two cores, a `negate --pre` of the
/// 1 GiB HDF5 model (input and snapshot hashed at idle priority) went from 2.52–3.74 s to
/// 2.08–2.26 s; a file whose hashing outlasts the rewrite (3 GiB of statistics) must not wait
/// for gaps, or the run ends hashing it on one core.
final class BackgroundFileDigest: @unchecked Sendable {  // the state below is touched only under `lock`
    let path: String
    /// Held while a piece is hashed, and to look at or change the state below.
    private let lock = NSLock()
    private var handle: FileHandle?
    private let hasher = SHA256()
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 << 10, alignment: 64)
    private var result: Result<[UInt8], any Error>?
    /// Set when someone waits or the run gives up: the background thread stops at its next piece.
    private let released = Atomic<Bool>(false)

    init(path: String, idle: Bool) {
        self.path = path
        Thread { [self] in
            if idle { Self.runOnlyWhenIdle() }
            while !released.load(ordering: .relaxed), hashNextPiece() {}
        }.start()
    }

    deinit {
        buffer.deallocate()
        try? handle?.close()
    }

    /// Hashes what the background thread has not and returns the digest.
    func finish() throws -> [UInt8] {
        released.store(true, ordering: .relaxed)
        while hashNextPiece() {}
        return try lock.withLock { try result!.get() }
    }

    /// Stops hashing once the piece under way is done (a run that failed), so that no thread is
    /// inside libcrypto when the process exits (OpenSSL's exit-time cleanup can crash under it).
    func stop() {
        released.store(true, ordering: .relaxed)
        lock.withLock {
            if result == nil { result = .failure(CancellationError()) }
        }
    }

    /// Hashes the next 256 KiB (small, so that a waiter taking over waits little for a piece a
    /// starved idle thread is in the middle of); false once the digest is known or failed.
    private func hashNextPiece() -> Bool {
        lock.withLock {
            guard result == nil else { return false }
            do {
                if handle == nil {
                    guard let opened = FileHandle(forReadingAtPath: path) else { throw SigningError.unreadable(path: path, reason: "cannot open") }
                    handle = opened
                }
                let count = read(handle!.fileDescriptor, buffer.baseAddress, buffer.count)
                if count < 0 {
                    if errno == EINTR { return true }
                    throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
                }
                if count == 0 {
                    result = .success(hasher.finish())
                    return false
                }
                hasher.update(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
                return true
            } catch {
                result = .failure(error)
                return false
            }
        }
    }

    /// Puts the calling thread in Linux's `SCHED_IDLE` class (5 in `linux/sched.h`; Glibc's module
    /// does not export the name). Where that fails it keeps its priority.
    private static func runOnlyWhenIdle() {
        #if os(Linux)
        var parameters = sched_param(sched_priority: 0)
        _ = sched_setscheduler(0, 5, &parameters)
        #endif
    }
}
