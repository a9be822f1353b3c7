#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// The one way verify and audit open a file: records themselves, and the files a record names.
/// A name from a record is opened below its directory one component at a time (`openat` with
/// `O_NOFOLLOW`), so it cannot leave the directory, follow a link or block on a FIFO or a device;
/// what it ends at must be a regular file, checked before and after opening.
public enum ConfinedFile {
    /// Why `name` is not a plain relative path (components that are neither empty, "." nor "..";
    /// no control characters), or nil when it is one. Decided from the name alone, before any
    /// file is looked at.
    public static func problem(withName name: String) -> SubjectRefusal? {
        if name.isEmpty { return .emptyName }
        if name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) { return .controlCharacter }
        if name.hasPrefix("/") { return .absolute }
        for component in name.split(separator: "/", omittingEmptySubsequences: false) {
            switch component {
            case "": return .emptyComponent
            case ".": return .currentDirectoryComponent
            case "..": return .parentComponent
            default: continue
            }
        }
        return nil
    }

    /// Opens `name` for reading below `directory` (which may be given any way the user likes:
    /// it is where files are looked up, not something a record chose). Nil when the name leads
    /// nowhere (a component is missing); throws a refusal for anything but a regular file reached
    /// through real directories.
    public static func open(_ name: String, in directory: String) throws(SubjectRefusal) -> FileHandle? {
        if let problem = problem(withName: name) { throw problem }
        var fd = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw .unreadable(component: directory, reason: String(cString: strerror(errno)))
        }
        let components = name.split(separator: "/").map(String.init)
        for (index, component) in components.enumerated() {
            let last = index == components.count - 1
            let shown = components[...index].joined(separator: "/")
            var st = stat()
            if fstatat(fd, component, &st, AT_SYMLINK_NOFOLLOW) != 0 {
                let error = errno
                close(fd)
                if error == ENOENT { return nil }
                throw .unreadable(component: shown, reason: String(cString: strerror(error)))
            }
            let kind = st.st_mode & S_IFMT
            if kind == S_IFLNK { close(fd); throw .symbolicLink(component: shown) }
            if !last, kind != S_IFDIR { close(fd); throw .notDirectory(component: shown) }
            if last, kind != S_IFREG { close(fd); throw .notRegularFile(kind: describe(kind)) }
            // O_NOFOLLOW and O_NONBLOCK: if the entry was swapped for a link or a FIFO since fstatat,
            // the open fails or returns at once rather than following it or waiting for a writer.
            let flags = last ? O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC : O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC
            let next = openat(fd, component, flags)
            let error = errno
            close(fd)
            guard next >= 0 else {
                if error == ENOENT { return nil }
                if error == ELOOP { throw .symbolicLink(component: shown) }
                throw .unreadable(component: shown, reason: String(cString: strerror(error)))
            }
            fd = next
        }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            let kind = st.st_mode & S_IFMT
            close(fd)
            throw .notRegularFile(kind: describe(kind))
        }
        return FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    }

    /// The bytes of a record the user named (or `audit` found): symbolic links are followed, as
    /// for any path given on the command line, but it must be a regular file.
    public static func readRecord(atPath path: String) throws -> [UInt8] {
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
        guard fd >= 0 else {
            let error = errno
            throw SigningError.unreadable(path: path, reason: error == ENOENT ? "no such file" : String(cString: strerror(error)))
        }
        let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw SigningError.unreadable(path: path, reason: "\(describe(st.st_mode & S_IFMT)), not a regular file")
        }
        return try readAll(handle, path: path)
    }

    /// Everything left in `handle` (a regular file opened above); `path` names it in errors.
    public static func readAll(_ handle: FileHandle, path: String) throws -> [UInt8] {
        do {
            return [UInt8](try handle.readToEnd() ?? Data())
        } catch {
            throw SigningError.unreadable(path: path, reason: "\(error.localizedDescription)")
        }
    }

    /// Whether `path` is a directory itself (`lstat`: a link to one is not).
    public static func isDirectory(atPath path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR
    }

    static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFREG: "a regular file"
        case S_IFDIR: "a directory"
        case S_IFLNK: "a symbolic link"
        case S_IFIFO: "a FIFO"
        case S_IFCHR, S_IFBLK: "a device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// A name as problem lines show it: in double quotes, with quotes, backslashes and every
    /// control character escaped (JSON's escapes, and `\u00XX` for DEL and C1 controls too), so
    /// a hostile name cannot forge a line of output.
    public static func quoted(_ name: String) -> String {
        var out = "\""
        for scalar in name.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case _ where scalar.properties.generalCategory == .control: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Text from a record as an output line shows it: as it is, or `quoted` when it holds a
    /// control character, so that a record (signed or not) cannot forge lines of a report.
    public static func printable(_ text: String) -> String {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control } ? quoted(text) : text
    }
}
