/// Why a file a record names was not opened. A record's statement is data from whoever wrote it:
/// its names must be plain relative paths to regular files inside the directory files are looked
/// up in, or verify would hash whatever they point at (`../../etc/passwd`, `/dev/zero`).
public enum SubjectRefusal: Error, Equatable, CustomStringConvertible {
    case emptyName
    case controlCharacter
    case absolute
    case emptyComponent
    case currentDirectoryComponent
    case parentComponent
    /// `component` (the path up to it) is a symbolic link: links are never followed.
    case symbolicLink(component: String)
    /// `component` is not a directory, although the name goes on below it.
    case notDirectory(component: String)
    /// What the name leads to is not a regular file (`kind`: "a directory", "a FIFO", …).
    case notRegularFile(kind: String)
    /// The system refused to look (permissions, too long a name): its message.
    case unreadable(component: String, reason: String)

    public var description: String {
        switch self {
        case .emptyName: "it is an empty name"
        case .controlCharacter: "it contains a control character (NUL, newline, escape, …)"
        case .absolute: "it is an absolute path (records name files relative to the directory they are looked up in)"
        case .emptyComponent: "it has an empty component (\"//\", or a leading or trailing \"/\")"
        case .currentDirectoryComponent: "it has a \".\" component (records name files plainly: \"a/b\", not \"./a/b\")"
        case .parentComponent: "it has a \"..\" component, which would leave the directory files are looked up in"
        case .symbolicLink(let component): "\(ConfinedFile.quoted(component)) is a symbolic link, and links are not followed"
        case .notDirectory(let component): "\(ConfinedFile.quoted(component)) is not a directory"
        case .notRegularFile(let kind): "it is \(kind); only regular files are hashed"
        case .unreadable(let component, let reason): "\(ConfinedFile.quoted(component)) cannot be read: \(reason)"
        }
    }
}
