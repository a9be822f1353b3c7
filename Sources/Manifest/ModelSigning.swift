import Checkpoint
import Foundation

/// OpenSSF Model Signing v1.0, as `model_signing` 1.1.1 signs and verifies with a key: a statement
/// whose subject is the model's root digest and whose predicate lists every file with its SHA-256.
public enum ModelSigning {
    public static let predicateType = "https://model_signing/signature/v1.0"

    /// What `model_signing` always leaves out of a model, and lists in `ignore_paths`.
    public static let gitPaths = [".git", ".gitattributes", ".github", ".gitignore"]

    /// One file of a model: its path relative to the model root ("." for a single-file model).
    public struct Resource: Equatable, Sendable {
        public let name: String
        public let digest: [UInt8]
    }

    /// The model's files in signing order: a single file is the one resource "."; a directory is
    /// every regular file below it (dotfiles too), named with "/" and sorted by path components
    /// (so "a/x" comes before "a-c" and "a.b"), less `ignoring` (names relative to the root; a
    /// directory's name leaves out everything below it).
    /// `adding` gives files (absolute paths) with digests already known, which need not exist yet
    /// (they are being written under temporary names, which `skipping` leaves out).
    public static func resources(of model: String, ignoring: Set<String> = [], adding known: [String: [UInt8]] = [:],
                                 skipping: Set<String> = []) throws -> [Resource] {
        let root = URL(fileURLWithPath: model).standardizedFileURL
        if let digest = known[root.path] { return [Resource(name: ".", digest: digest)] }
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory)
        guard exists || !known.isEmpty else { throw SigningError.unreadable(path: model, reason: "no such file or directory") }
        if exists, !isDirectory.boolValue {
            return [Resource(name: ".", digest: try SHA256.digest(ofFile: root.path))]
        }
        var names = Set(known.keys.filter { $0.hasPrefix(root.path + "/") }.map { String($0.dropFirst(root.path.count + 1)) })
        if exists { names.formUnion(try fileNames(below: root, skipping: skipping)) }
        return try kept(names, ignoring: ignoring).map { name in
            let path = root.appendingPathComponent(name).path
            return Resource(name: name, digest: try known[path] ?? SHA256.digest(ofFile: path))
        }
    }

    /// The regular files below the directory `root`, named relative to it with "/" (FIFOs,
    /// devices and sockets are no part of a model and are passed over unopened); a symbolic link
    /// anywhere below it is an error. `skipping` holds absolute paths to leave out.
    static func fileNames(below root: URL, skipping: Set<String> = []) throws -> Set<String> {
        var names = Set<String>()
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey, .isSymbolicLinkKey]) else {
            return names
        }
        for case let url as URL in walker {
            let path = url.standardizedFileURL.path
            let values = try url.resourceValues(forKeys: [.isRegularFileKey, .isSymbolicLinkKey])
            if values.isSymbolicLink == true {
                throw SigningError.unreadable(path: path, reason: "a symbolic link inside the model (OpenSSF Model Signing signs with allow_symlinks false)")
            }
            guard values.isRegularFile == true, !skipping.contains(path) else { continue }
            names.insert(String(path.dropFirst(root.path.count + 1)))
        }
        return names
    }

    /// `names` less those `ignoring` covers (a name, or a directory's name and all below it), in signing order.
    static func kept(_ names: Set<String>, ignoring: Set<String>) -> [String] {
        names.filter { name in !ignoring.contains { name == $0 || name.hasPrefix($0 + "/") } }.sorted(by: componentOrder)
    }

    /// Path-component order over UTF-8 bytes, as Python orders pathlib paths.
    static func componentOrder(_ a: String, _ b: String) -> Bool {
        let (x, y) = (a.split(separator: "/", omittingEmptySubsequences: false), b.split(separator: "/", omittingEmptySubsequences: false))
        for (p, q) in zip(x, y) where p != q { return Array(p.utf8).lexicographicallyPrecedes(Array(q.utf8)) }
        return x.count < y.count
    }

    /// SHA-256 of the resources' raw digests concatenated in order: the subject's digest.
    public static func rootDigest(_ resources: [Resource]) -> [UInt8] {
        SHA256.digest(resources.flatMap(\.digest))
    }

    public static func statement(modelName: String, resources: [Resource], ignorePaths: [String]) -> Statement {
        Statement(
            subjects: [.init(name: modelName, sha256: rootDigest(resources).hex)],
            predicateType: predicateType,
            predicate: .object([
                ("serialization", .object([
                    ("method", .string("files")),
                    ("hash_type", .string("sha256")),
                    ("allow_symlinks", .bool(false)),
                    ("ignore_paths", .array(ignorePaths.map(JSONValue.string))),
                ])),
                ("resources", .array(resources.map { .object([("name", .string($0.name)), ("algorithm", .string("sha256")), ("digest", .string($0.digest.hex))]) })),
            ]))
    }

    /// The resources a statement lists, checked for shape.
    static func listedResources(_ statement: Statement, path: String) throws -> [Resource] {
        guard let listed = statement.predicate["resources"]?.array else {
            throw SigningError.malformedRecord(path: path, reason: "OpenSSF Model Signing predicate without resources")
        }
        return try listed.map { entry in
            guard let name = entry["name"]?.string, entry["algorithm"]?.string == "sha256",
                  let hex = entry["digest"]?.string, let digest = [UInt8](hex: hex), digest.count == 32 else {
                throw SigningError.malformedRecord(path: path, reason: "a resource without a name and a sha256 digest")
            }
            return Resource(name: name, digest: digest)
        }
    }
}
