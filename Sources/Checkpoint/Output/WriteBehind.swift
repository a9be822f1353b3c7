import Foundation
import Synchronization

/// Flushes a transaction's files to disk while the run is still producing and hashing them, so that
/// the fsync `commit` must do before renaming finds most of each file already there. A thread calls
/// `fdatasync` every 50 ms; it waits for the disk, which is why the writers never make the call
/// themselves. On the bench machine (a VM) an fsync of a freshly written 1 GiB file took 1.5–2 s,
/// most of it the device's cache flush, which only an fsync asks for: with the flushes made while
/// the file was written the last one took 0.3–0.5 s (a kernel-only hint, `sync_file_range`, saved
/// almost nothing). A failure is ignored here: commit's fsync reports whatever the disk refused.
final class WriteBehind: Sendable {
    private struct State {
        /// Files being written: a descriptor of our own, or a path to open once the file exists.
        var files: [(fd: Int32?, path: String?)] = []
        var started = false
        var stopped = false
    }
    private let state = Mutex(State())
    private static let interval: useconds_t = 50_000

    /// Adds a file being written through `fd` (a descriptor of its own is kept until `stop`).
    func add(fd: Int32) {
        let own = fcntl(fd, F_DUPFD_CLOEXEC, 0)
        guard own >= 0 else { return }
        add((own, nil))
    }

    /// Adds a file that someone else (libhdf5) creates at `path` and writes.
    func add(path: String) {
        add((nil, path))
    }

    /// No more asking; the thread closes its descriptors on its next turn. Files already queued
    /// keep being written by the kernel.
    func stop() {
        state.withLock { $0.stopped = true }
    }

    private func add(_ file: (fd: Int32?, path: String?)) {
        let first: Bool? = state.withLock { state in
            guard !state.stopped else { return nil }
            state.files.append(file)
            defer { state.started = true }
            return !state.started
        }
        switch first {
        case nil: if let fd = file.fd { close(fd) }
        case true?: Thread.detachNewThread { [self] in run() }
        case false?: break
        }
    }

    private func run() {
        while true {
            usleep(Self.interval)
            let descriptors = state.withLock { state -> [Int32]? in
                if state.stopped {
                    state.files.compactMap(\.fd).forEach { close($0) }
                    state.files = []
                    return nil
                }
                for index in state.files.indices where state.files[index].fd == nil {
                    // libhdf5 creates its file after the name is reserved; until then there is nothing to write.
                    let fd = open(state.files[index].path!, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
                    if fd >= 0 { state.files[index].fd = fd }
                }
                return state.files.compactMap(\.fd)
            }
            guard let descriptors else { return }
            // Outside the lock: the call waits for the disk, and `stop` must not.
            for fd in descriptors { _ = fdatasync(fd) }
        }
    }
}
