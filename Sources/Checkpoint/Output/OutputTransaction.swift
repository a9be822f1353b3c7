import Foundation
import Synchronization

/// Files being written for one run: each is written as a file without a name (Linux `O_TMPFILE`)
/// in its final directory, given a temporary name there only by `commit()` and then renamed into
/// place. Until then, `abort()` (and an interrupt, through `OutputTransaction.abortAll()`) drops
/// every temporary file, so a failed run leaves no output; a process killed outright (SIGKILL, the
/// OOM killer) leaves none either, since the kernel frees a file without a name. Where the
/// filesystem has no `O_TMPFILE`, and for HDF5 files (libhdf5 resolves the real path of the file it
/// creates or opens, which a file without a name lacks), temporary files are named from the start.
/// While they are written, `WriteBehind` flushes them to disk in the background, so that commit's
/// fsync does not begin from nothing.
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
    private struct Pending {
        var temporary: String
        var final: String
        /// The descriptor of a file without a name (`temporary` is its `/proc/self/fd` path), until commit names it.
        var unnamed: Int32?
    }
    private enum Phase { case writing, committed, aborted }
    private struct State { var pending: [Pending] = []; var phase = Phase.writing }

    /// Held for a whole commit, so an interrupt's `abort` waits for it.
    private let state = Mutex(State())
    /// Gets the files onto the disk while they are written, for commit's fsync.
    private let writeBehind = WriteBehind()
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

    /// Reserves a temporary file for `finalPath` in the same directory (so the rename is atomic): a
    /// file without a name, already created, when `named` is false and the filesystem allows; else
    /// a name to create.
    public func temporaryFile(for finalPath: String, named: Bool = false) -> TemporaryFile {
        let url = URL(fileURLWithPath: finalPath)
        let directory = url.deletingLastPathComponent().path
        // Created before the state is locked: an interrupt holds the gate, then locks the state.
        let unnamed = named ? -1 : Self.creatingFile { open(directory, __O_TMPFILE | O_DIRECTORY | O_RDWR | O_CLOEXEC, 0o666) }
        return state.withLock { state in
            if unnamed >= 0 {
                writeBehind.add(fd: unnamed)
                let path = "/proc/self/fd/\(unnamed)"
                state.pending.append(Pending(temporary: path, final: finalPath, unnamed: unnamed))
                return TemporaryFile(path: path, final: finalPath, exists: true)
            }
            let temporary = Self.namedTemporary(for: finalPath, index: state.pending.count)
            state.pending.append(Pending(temporary: temporary, final: finalPath, unnamed: nil))
            CrashCleanup.register(temporary)
            writeBehind.add(path: temporary)
            return TemporaryFile(path: temporary, final: finalPath, exists: false)
        }
    }

    /// Files reserved so far, in order: where each is being written and where it will end up.
    public var files: [(temporary: String, final: String)] { state.withLock { $0.pending.map { ($0.temporary, $0.final) } } }

    /// Writes a small file (a record) as part of the transaction.
    public func write(_ contents: [UInt8], to finalPath: String) throws {
        let file = try FileBytes(creating: temporaryFile(for: finalPath))
        try contents.withUnsafeBytes { try file.write($0) }
    }

    /// Flushes every temporary file to disk, renames each into place in the order reserved (a shard
    /// index goes last), and flushes the directories that hold them; all or nothing (see the type).
    public func commit() throws {
        writeBehind.stop()
        try state.withLock { state in
            guard state.phase == .writing else { throw CheckpointError.writeFailed(path: state.pending.first?.final ?? "", reason: "the run was interrupted") }
            for file in state.pending {
                if let reason = file.unnamed.map(Self.sync) ?? Self.sync(file.temporary) {
                    Self.remove(state.pending)
                    state.phase = .aborted
                    throw CheckpointError.writeFailed(path: file.final, reason: reason)
                }
            }
            // Files without a name get one beside their final path, to be renamed like the others.
            for index in state.pending.indices {
                guard let fd = state.pending[index].unnamed else { continue }
                let named = Self.namedTemporary(for: state.pending[index].final, index: index)
                CrashCleanup.register(named)
                guard linkat(AT_FDCWD, state.pending[index].temporary, AT_FDCWD, named, AT_SYMLINK_FOLLOW) == 0 else {
                    let reason = String(cString: strerror(errno))
                    CrashCleanup.unregister(named)
                    Self.remove(state.pending)
                    state.phase = .aborted
                    throw CheckpointError.writeFailed(path: state.pending[index].final, reason: "\(reason); nothing was written")
                }
                close(fd)
                state.pending[index].temporary = named
                state.pending[index].unnamed = nil
            }
            let files = state.pending
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
        writeBehind.stop()
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
            if let fd = file.unnamed {
                close(fd)  // a file without a name is gone with its last descriptor
            } else {
                unlink(file.temporary)
                CrashCleanup.unregister(file.temporary)
            }
        }
    }

    private static func namedTemporary(for final: String, index: Int) -> String {
        let url = URL(fileURLWithPath: final)
        return "\(url.deletingLastPathComponent().path)/.\(url.lastPathComponent).ckptforget-\(getpid())-\(index).tmp"
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
        return sync(fd)
    }

    private static func sync(_ fd: Int32) -> String? {
        fsync(fd) == 0 ? nil : String(cString: strerror(errno))
    }
}

/// A temporary file of a transaction: where to write it, and whether it exists already (a file
/// without a name, reached through `/proc/self/fd`: open it, do not create it).
public struct TemporaryFile: Sendable {
    public let path: String
    /// Where it will be renamed to, for messages.
    public let final: String
    public let exists: Bool
}
