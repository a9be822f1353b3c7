import Checkpoint
import Foundation

/// The records a forgetting attestation descends from, found by following each one's `parent`
/// (the parent record's path relative to the child's directory, and the SHA-256 of its bytes),
/// nearest first. A parent that is missing, unreadable, not a regular file or not the bytes its
/// child recorded ends the chain with that problem, and nothing it says is used. Signatures are not
/// checked here (`audit` checks them); the digests tie each record to the one before it.
public enum RecordLineage {
    public struct Ancestor: Sendable {
        /// Where the parent was looked for (its child's directory joined with the path it recorded).
        public let path: String
        /// What it says; nil when it could not be used (see `problem`).
        public let statement: Statement?
        public let problem: String?
    }

    /// The ancestors of the record at `path` saying `statement`, nearest first, at most `limit`.
    public static func ancestors(of statement: Statement, at path: String, limit: Int = 64) -> [Ancestor] {
        var ancestors: [Ancestor] = []
        var current = (statement: statement, path: path)
        var seen = Set<String>()
        while let parent = current.statement.predicate["parent"], parent != .null {
            let name = parent["path"]?.string ?? "", digest = parent["sha256"]?.string ?? ""
            let directory = (current.path as NSString).deletingLastPathComponent
            // Joined lexically ("run/../a" stays as it is): a symbolic link in between decides where ".." leads.
            let location = name.hasPrefix("/") || directory.isEmpty ? name : (directory as NSString).appendingPathComponent(name)
            guard ancestors.count < limit else {
                ancestors.append(Ancestor(path: location, statement: nil, problem: "more than \(limit) earlier records; the chain is not followed further"))
                break
            }
            guard !name.isEmpty, seen.insert(digest).inserted else {
                ancestors.append(Ancestor(path: location, statement: nil,
                                          problem: name.isEmpty ? "the record names a parent without a path" : "the chain of parents loops back on itself"))
                break
            }
            let bytes: [UInt8]
            do {
                bytes = try ConfinedFile.readRecord(atPath: location)
            } catch {
                ancestors.append(Ancestor(path: location, statement: nil, problem: "the parent record cannot be read: \(error)"))
                break
            }
            let actual = SHA256.digest(bytes).hex
            guard actual == digest else {
                ancestors.append(Ancestor(path: location, statement: nil,
                                          problem: "the parent record changed: its child recorded sha256 \(ConfinedFile.printable(digest)), the file has \(actual)"))
                break
            }
            do {
                let found = try Statement(payload: try SigstoreBundle(bytes: bytes, path: location).envelope.payload, path: location)
                ancestors.append(Ancestor(path: location, statement: found, problem: nil))
                current = (found, location)
            } catch {
                ancestors.append(Ancestor(path: location, statement: nil, problem: "the parent record is not a record: \(error)"))
                break
            }
        }
        return ancestors
    }
}
