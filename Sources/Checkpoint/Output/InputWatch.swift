#if canImport(Glibc)
import Glibc
#endif

/// What a run's input files were when it began (device, inode, size, modification time), to find
/// before committing any output whether one was replaced or written to while it was read: libhdf5,
/// the digests and the data readers open some inputs by path more than once, so a file replaced in
/// between would be edited from one version and attested as another.
public struct InputWatch: Sendable {
    private struct Identity: Equatable, Sendable {
        let device: UInt64, inode: UInt64, size: Int64, seconds: Int, nanoseconds: Int
    }
    private var identities: [(path: String, identity: Identity?)] = []

    public init() {}

    /// Records the regular files among `paths` as they are now (directories change whenever a file
    /// is written beside them, outputs included, so they are not watched).
    public mutating func watch(_ paths: [String]) {
        for path in paths where !identities.contains(where: { $0.path == path }) {
            var st = stat()
            guard stat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { continue }
            identities.append((path, Self.identity(path)))
        }
    }

    /// The watched paths that are no longer the file they were, in the order watched.
    public func changed() -> [String] {
        identities.filter { Self.identity($0.path) != $0.identity }.map(\.path)
    }

    private static func identity(_ path: String) -> Identity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return Identity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                        seconds: st.st_mtim.tv_sec, nanoseconds: st.st_mtim.tv_nsec)
    }
}
