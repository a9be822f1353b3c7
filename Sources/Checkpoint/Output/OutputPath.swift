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
    /// the same file through a link), or if its directory does not exist.
    public static func checkDistinct(outputs: [String], inputs: [String]) throws {
        let inputIdentities = inputs.compactMap(identity)
        let inputPaths = Set(inputs.map(canonical))
        var seen = Set<String>()
        for output in outputs where !seen.insert(canonical(output)).inserted {
            throw CheckpointError.writeRefused(path: output, reason: "two outputs of this run would be written there (check -o and --manifest)")
        }
        for output in outputs {
            if inputPaths.contains(canonical(output)) || identity(output).map(inputIdentities.contains) == true {
                throw CheckpointError.writeRefused(path: output, reason: "it is the input; choose another -o (the input is never modified)")
            }
            let directory = (output as NSString).deletingLastPathComponent
            var isDirectory: ObjCBool = false
            if !directory.isEmpty, !(FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) && isDirectory.boolValue) {
                throw CheckpointError.writeRefused(path: output, reason: "directory \(directory) does not exist (create it first: mkdir -p '\(directory)')")
            }
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
