import Foundation
import Synchronization

/// Files being written for one run: each is written under a temporary name beside its final
/// path and renamed into place only by `commit()`. Until then, `abort()` (and an interrupt, through
/// `OutputTransaction.abortAll()`) removes every temporary file, so a failed run leaves no output.
public final class OutputTransaction: Sendable {
    private struct Pending { var temporary: String; var final: String }
    private let pending = Mutex<[Pending]>([])
    private static let live = Mutex<[ObjectIdentifier: OutputTransaction]>([:])

    public init() {
        Self.live.withLock { $0[ObjectIdentifier(self)] = self }
    }

    /// Reserves a temporary path for `finalPath` in the same directory (so the rename is atomic).
    public func temporaryPath(for finalPath: String) -> String {
        let url = URL(fileURLWithPath: finalPath)
        let directory = url.deletingLastPathComponent().path
        return pending.withLock { list in
            let temporary = "\(directory)/.\(url.lastPathComponent).ckptforget-\(getpid())-\(list.count).tmp"
            list.append(Pending(temporary: temporary, final: finalPath))
            return temporary
        }
    }

    /// Files reserved so far, in order: where each is being written and where it will end up.
    public var files: [(temporary: String, final: String)] { pending.withLock { $0.map { ($0.temporary, $0.final) } } }

    /// Writes a small file (a record) as part of the transaction.
    public func write(_ contents: [UInt8], to finalPath: String) throws {
        let file = try FileBytes(creating: temporaryPath(for: finalPath))
        try contents.withUnsafeBytes { try file.write($0) }
    }

    /// Renames every temporary file into place, in the order reserved (a shard index goes last).
    public func commit() throws {
        let files = pending.withLock { $0 }
        for file in files where rename(file.temporary, file.final) != 0 {
            let reason = String(cString: strerror(errno))
            abort()
            throw CheckpointError.writeFailed(path: file.final, reason: reason)
        }
        pending.withLock { $0.removeAll() }
        Self.live.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
    }

    /// Removes every temporary file not yet committed.
    public func abort() {
        let files = pending.withLock { list in defer { list.removeAll() }; return list }
        for file in files { unlink(file.temporary) }
        Self.live.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
    }

    /// Aborts every live transaction: called from the interrupt handler before exiting.
    public static func abortAll() {
        let all = live.withLock { Array($0.values) }
        for transaction in all { transaction.abort() }
    }
}
