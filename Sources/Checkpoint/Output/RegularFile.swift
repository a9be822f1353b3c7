#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Inputs are read only from regular files. A FIFO would block the run on `open` or `read` until
/// some other process wrote to it, and a device or socket has no size to validate against, so
/// anything else under an input's name is refused before a byte is read, named in words.
public enum RegularFile {
    /// Opens `path` read-only (symbolic links followed, as for any path the user gives) and returns
    /// the descriptor once `fstat` shows a regular file. `stat` first keeps devices from being
    /// opened at all; `O_NONBLOCK` keeps `open` from waiting on a FIFO put there after that check,
    /// and `fstat` on the descriptor catches it.
    static func openForReading(_ path: String) throws(CheckpointError) -> Int32 {
        var st = stat()
        if stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG {
            throw .notRegularFile(path: path, kind: kind(st.st_mode))
        }
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else { throw .unreadable(path: path, reason: String(cString: strerror(errno))) }
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            let kind = kind(st.st_mode)
            close(fd)
            throw .notRegularFile(path: path, kind: kind)
        }
        return fd
    }

    /// What is at `path` ("a FIFO", "a directory", …) when something is there that is not a regular
    /// file, else nil: for files that other modules open themselves (data sets), checked with
    /// `stat`, which does not block, before they are opened.
    public static func irregularKind(at path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0, st.st_mode & S_IFMT != S_IFREG else { return nil }
        return kind(st.st_mode)
    }

    /// "a FIFO", "a directory", … for messages.
    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "of an unknown kind"
        }
    }
}
