import Foundation
import Synchronization

/// Files being written for one run: each is written under a temporary name beside its final
/// path and renamed into place only by `commit()`. Until then, `abort()` (and an interrupt, through
/// `OutputTransaction.abortAll()`) removes every temporary file, so a failed run leaves no output.
///
/// What holds: before `commit` no final path is touched; `commit` first flushes every temporary
/// file to disk (fsync), then renames them one by one in the order reserved (each rename is
/// atomic), then flushes the directories. A crash or power loss during the renames can leave the
/// first files renamed and the rest as temporary files; it never leaves a partly written file
/// under a final name.
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

    /// Flushes every temporary file to disk, renames each into place in the order reserved (a shard
    /// index goes last), and flushes the directories that hold them.
    public func commit() throws {
        let files = pending.withLock { $0 }
        for file in files {
            if let reason = Self.sync(file.temporary) {
                abort()
                throw CheckpointError.writeFailed(path: file.final, reason: reason)
            }
        }
        for file in files where rename(file.temporary, file.final) != 0 {
            let reason = String(cString: strerror(errno))
            abort()
            throw CheckpointError.writeFailed(path: file.final, reason: reason)
        }
        pending.withLock { $0.removeAll() }
        Self.live.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
        for directory in Set(files.map { URL(fileURLWithPath: $0.final).deletingLastPathComponent().path }).sorted() {
            _ = Self.sync(directory)  // the renames are done; a directory that cannot be flushed changes nothing
        }
    }

    /// fsync of a file or directory; the reason when it fails.
    private static func sync(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
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
