import Foundation
import Synchronization

/// Files being written for one run: each is written under a temporary name beside its final
/// path and renamed into place only by `commit()`. Until then, `abort()` (and an interrupt, through
/// `OutputTransaction.abortAll()`) removes every temporary file, so a failed run leaves no output.
///
/// What holds:
/// - Before `commit` no final path is touched.
/// - `commit` is all or nothing for this process: it flushes every temporary file to disk (fsync),
///   keeps a hard link to every file it will replace, renames the temporary files into place in the
///   order reserved, and flushes the directories. If a rename fails, every rename already made is
///   undone (the replaced files are put back) and the error says so. An interrupt that arrives
///   during a commit waits for it to finish, and is then told what was committed.
/// - A crash or power loss during the renames can still leave the first files renamed and the rest
///   as temporary or `.bak` files beside them; never a partly written file under a final name.
public final class OutputTransaction: Sendable {
    private struct Pending { var temporary: String; var final: String }
    private enum Phase { case writing, committed, aborted }
    private struct State { var pending: [Pending] = []; var phase = Phase.writing }

    /// Held for a whole commit, so an interrupt's `abort` waits for it.
    private let state = Mutex(State())
    private static let live = Mutex<[ObjectIdentifier: OutputTransaction]>([:])
    /// Final paths committed by this process, for an interrupt's message.
    private static let committedPaths = Mutex<[String]>([])
    /// Held while a temporary file is created, and by an interrupt from its abort to the process's
    /// exit: no file can be created after the abort removed the temporary files, and the main
    /// thread cannot exit with its own status while the interrupt's exit is under way.
    private static let exitGate = Mutex(())

    /// Runs `create` (which creates a temporary file of a transaction) unless the process is
    /// exiting on an interrupt, in which case it waits for that exit.
    static func creatingFile<T>(_ create: () throws -> T) rethrows -> T {
        try exitGate.withLock { _ in try create() }
    }

    /// On an interrupt: aborts every live transaction and calls `exit` with the paths this process
    /// committed, never letting go of the gate (`exit` must end the process).
    public static func abortAllAndExit(_ exit: ([String]) -> Never) -> Never {
        exitGate.withLock { _ in exit(abortAll()) }
    }

    /// Waits, before the process exits with its own status, for an interrupt's exit under way.
    public static func passExitGate() {
        exitGate.withLock { _ in }
    }

    public init() {
        Self.live.withLock { $0[ObjectIdentifier(self)] = self }
    }

    /// Reserves a temporary path for `finalPath` in the same directory (so the rename is atomic).
    public func temporaryPath(for finalPath: String) -> String {
        let url = URL(fileURLWithPath: finalPath)
        let directory = url.deletingLastPathComponent().path
        return state.withLock { state in
            let temporary = "\(directory)/.\(url.lastPathComponent).ckptforget-\(getpid())-\(state.pending.count).tmp"
            state.pending.append(Pending(temporary: temporary, final: finalPath))
            CrashCleanup.register(temporary)
            return temporary
        }
    }

    /// Files reserved so far, in order: where each is being written and where it will end up.
    public var files: [(temporary: String, final: String)] { state.withLock { $0.pending.map { ($0.temporary, $0.final) } } }

    /// Writes a small file (a record) as part of the transaction.
    public func write(_ contents: [UInt8], to finalPath: String) throws {
        let file = try FileBytes(creating: temporaryPath(for: finalPath))
        try contents.withUnsafeBytes { try file.write($0) }
    }

    /// Flushes every temporary file to disk, renames each into place in the order reserved (a shard
    /// index goes last), and flushes the directories that hold them; all or nothing (see the type).
    public func commit() throws {
        try state.withLock { state in
            guard state.phase == .writing else { throw CheckpointError.writeFailed(path: state.pending.first?.final ?? "", reason: "the run was interrupted") }
            let files = state.pending
            for file in files {
                if let reason = Self.sync(file.temporary) {
                    Self.remove(files)
                    state.phase = .aborted
                    throw CheckpointError.writeFailed(path: file.final, reason: reason)
                }
            }
            // Keep what each rename replaces until all are done, to put it back if one fails.
            var backups: [String?] = []
            for (index, file) in files.enumerated() {
                let backup = Self.backupPath(for: file.final, index: index)
                if access(file.final, F_OK) == 0 {
                    CrashCleanup.register(backup)
                    backups.append(link(file.final, backup) == 0 ? backup : nil)
                } else {
                    backups.append(nil)
                }
            }
            for (index, file) in files.enumerated() where rename(file.temporary, file.final) != 0 {
                let reason = String(cString: strerror(errno))
                for undone in (0..<index).reversed() {
                    if let backup = backups[undone] { rename(backup, files[undone].final) } else { unlink(files[undone].final) }
                }
                Self.remove(files)
                backups.compactMap { $0 }.forEach { unlink($0); CrashCleanup.unregister($0) }
                state.phase = .aborted
                throw CheckpointError.writeFailed(path: file.final, reason: "\(reason); nothing was written (the \(index) files renamed before it were put back)")
            }
            backups.compactMap { $0 }.forEach { unlink($0); CrashCleanup.unregister($0) }
            files.forEach { CrashCleanup.unregister($0.temporary) }
            state.phase = .committed
            Self.committedPaths.withLock { $0 += files.map(\.final) }
            for directory in Set(files.map { URL(fileURLWithPath: $0.final).deletingLastPathComponent().path }).sorted() {
                _ = Self.sync(directory)  // the renames are done; a directory that cannot be flushed changes nothing
            }
        }
        Self.live.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
    }

    /// Removes every temporary file not yet committed (waiting for a commit under way to finish);
    /// returns the final paths that were committed, if the transaction was.
    @discardableResult
    public func abort() -> [String] {
        let committed: [String] = state.withLock { state in
            if state.phase == .committed { return state.pending.map(\.final) }
            Self.remove(state.pending)
            state.phase = .aborted
            return []
        }
        Self.live.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(self)) }
        return committed
    }

    /// Aborts every live transaction (called from the interrupt handler before exiting) and returns
    /// every final path this process committed, so the handler can say what is in place.
    public static func abortAll() -> [String] {
        let all = live.withLock { Array($0.values) }
        for transaction in all { transaction.abort() }
        return committedPaths.withLock { $0 }
    }

    private static func remove(_ files: [Pending]) {
        for file in files {
            unlink(file.temporary)
            CrashCleanup.unregister(file.temporary)
        }
    }

    private static func backupPath(for final: String, index: Int) -> String {
        let url = URL(fileURLWithPath: final)
        return "\(url.deletingLastPathComponent().path)/.\(url.lastPathComponent).ckptforget-\(getpid())-\(index).bak"
    }

    /// fsync of a file or directory; the reason when it fails.
    private static func sync(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        return fsync(fd) == 0 ? nil : String(cString: strerror(errno))
    }
}
