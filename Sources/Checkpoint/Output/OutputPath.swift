import Foundation

/// Where a run writes, checked before anything is written: never over one of the input's files.
public enum OutputPath {
    /// The output path for `input` given `-o requested`: an existing directory (or one named with a
    /// trailing `/`) receives the input's file name, like `cp`.
    public static func resolve(_ requested: String, input: any CheckpointFile) -> String {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: requested, isDirectory: &isDirectory)
        guard requested.hasSuffix("/") || (exists && isDirectory.boolValue) else { return requested }
        let name = (input.path as NSString).lastPathComponent
        return (requested as NSString).appendingPathComponent(name)
    }

    /// Throws if any file the rewrite would create is one of the input's files (same path, or
    /// the same file through a link), is there and is not a regular file (a symbolic link, a
    /// directory, a device, a FIFO: a rename would replace it), or if its directory does not exist.
    public static func checkDistinct(outputs: [String], inputs: [String]) throws {
        let inputIdentities = inputs.compactMap(identity)
        let inputPaths = Set(inputs.map(canonical))
        var seen = Set<String>()
        for output in outputs where !seen.insert(canonical(output)).inserted {
            throw CheckpointError.writeRefused(path: output, reason: "two outputs of this run would be written there (check -o and --manifest)")
        }
        for output in outputs {
            if inputPaths.contains(canonical(output)) || identity(output).map(inputIdentities.contains) == true {
                throw CheckpointError.writeRefused(path: output, reason: "it is the input or another file this run reads (a key, a record, data); choose another path (inputs are never modified)")
            }
            var st = stat()
            if lstat(output, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
                let kind = switch st.st_mode & S_IFMT {
                case S_IFLNK: "a symbolic link"
                case S_IFDIR: "a directory"
                case S_IFIFO: "a FIFO"
                case S_IFCHR, S_IFBLK: "a device"
                default: "not a regular file"
                }
                throw CheckpointError.writeRefused(path: output, reason: "it is \(kind), which the output would replace; choose another path")
            }
            let directory = (output as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
                throw CheckpointError.writeRefused(path: output, reason: "directory \(directory) does not exist (create it first: mkdir -p '\(directory)')")
            }
        }
    }

    /// Throws when nothing can be written in `output`'s directory (a read-only filesystem, no
    /// permission), when its disk has less room than `bytes` (plus 1 MiB), or when the process may
    /// not write a file of `largestFile` bytes (`ulimit -f`): the run would fail while writing, and
    /// libhdf5 does not always fail cleanly on a full disk.
    public static func checkSpace(for output: String, bytes: Int, largestFile: Int) throws {
        let directory = (output as NSString).deletingLastPathComponent
        if access(directory.isEmpty ? "." : directory, W_OK) != 0 {
            throw CheckpointError.writeFailed(path: output, reason: "\(directory.isEmpty ? "." : directory): \(String(cString: strerror(errno)))")
        }
        var fs = statvfs()
        if statvfs(directory.isEmpty ? "." : directory, &fs) == 0 {
            let (available, overflow) = Int(clamping: fs.f_bavail).multipliedReportingOverflow(by: Int(clamping: fs.f_frsize))
            if !overflow, available < bytes + (1 << 20) {
                throw CheckpointError.writeFailed(path: output,
                    reason: "not enough free space: the output needs about \(bytes) bytes and 1 MiB to spare, and \(available) bytes are free")
            }
        }
        var limit = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit) == 0, limit.rlim_cur != rlim_t.max, UInt64(largestFile) + (1 << 20) > UInt64(limit.rlim_cur) {
            throw CheckpointError.writeFailed(path: output,
                reason: "the file-size limit (ulimit -f) is \(limit.rlim_cur) bytes and an output file needs about \(largestFile)")
        }
    }

    private static func canonical(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
    }

    private static func identity(_ path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    private struct FileIdentity: Hashable { let device: UInt64, inode: UInt64 }
}
