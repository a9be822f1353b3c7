import Foundation

/// `audit`: every forgetting attestation under some paths, each verified, linked to its parent by
/// digest, and arranged in chains from the original checkpoint to the latest edit.
public struct Audit: Sendable {
    public struct Link: Sendable {
        public let check: RecordCheck
        /// The parent record, when it was found among the audited ones.
        public let parentPath: String?
        public let problems: [String]
    }

    /// Chains of records, root first; a record whose parent is missing starts its own chain.
    public let chains: [[Link]]
    public var problems: [String] { chains.flatMap { $0.flatMap { $0.problems } } }

    public static func run(paths: [String], keys: [TrustedKey]) throws -> Audit {
        let recordPaths = try paths.flatMap(findRecords).sorted()
        guard !recordPaths.isEmpty else {
            throw SigningError.unreadable(path: paths.joined(separator: ", "), reason: "no *.manifest.json record found")
        }
        var checks: [RecordCheck] = []
        var broken: [String: [String]] = [:]
        for path in recordPaths {
            do {
                checks.append(try RecordVerifier.check(path, keys: keys))
            } catch {
                broken[path] = ["\(error)"]
            }
        }
        let bySHA = Dictionary(checks.map { ($0.sha256, $0) }, uniquingKeysWith: { a, _ in a })
        var links: [String: Link] = [:]
        for check in checks {
            var problems = check.problems.map { $0.hasPrefix(check.path) ? $0 : "\(check.path): \($0)" }
            var parentPath: String?
            if let parent = check.statement.predicate["parent"], parent != .null {
                let digest = parent["sha256"]?.string ?? ""
                if let found = bySHA[digest] {
                    parentPath = found.path
                    // Its input must be the parent's output: the checkpoint digests must be subjects there.
                    let produced = Set(found.statement.subjects.map(\.sha256))
                    let consumed = (check.statement.predicate["inputs"]?.array ?? [])
                        .filter { $0["role"]?.string == "checkpoint" }.compactMap { $0["sha256"]?.string }
                    for digest in consumed where !produced.contains(digest) {
                        problems.append("\(check.path): its input (sha256 \(ConfinedFile.printable(digest))) is not an output of its parent \(found.path)")
                    }
                } else {
                    problems.append("\(check.path): parent record \(ConfinedFile.printable(parent["path"]?.string ?? "?")) (sha256 \(ConfinedFile.printable(digest))) is missing or was changed")
                }
            }
            links[check.path] = Link(check: check, parentPath: parentPath, problems: problems)
        }
        // Chains: follow children from each record that has no parent among those found.
        let children = Dictionary(grouping: links.values.filter { $0.parentPath != nil }, by: { $0.parentPath! })
        var chains: [[Link]] = []
        func extend(_ chain: [Link]) {
            let next = (children[chain.last!.check.path] ?? []).sorted { $0.check.path < $1.check.path }
            if next.isEmpty { chains.append(chain) }
            for child in next { extend(chain + [child]) }
        }
        for root in links.values.filter({ $0.parentPath == nil }).sorted(by: { $0.check.path < $1.check.path }) { extend([root]) }
        let unreadable = broken.keys.sorted().map { path in
            [Link(check: RecordCheck(path: path, sha256: "", kind: .other("unreadable"), statement: Statement(subjects: [], predicateType: "", predicate: .null),
                                     signer: nil, signed: false, filesChecked: false, files: [], modelSignature: nil, problems: broken[path]!),
                  parentPath: nil, problems: broken[path]!.map { "\(path): \($0)" })]
        }
        return Audit(chains: chains + unreadable)
    }

    /// Record files under `path` (itself, if it is one).
    static func findRecords(_ path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SigningError.unreadable(path: path, reason: "no such file or directory")
        }
        guard isDirectory.boolValue else { return [path] }
        let walker = FileManager.default.enumerator(atPath: path)
        var found: [String] = []
        while let name = walker?.nextObject() as? String {
            if name.hasSuffix(".manifest.json") { found.append((path as NSString).appendingPathComponent(name)) }
        }
        return found
    }
}
