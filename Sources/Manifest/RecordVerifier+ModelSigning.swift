import Foundation

extension RecordVerifier {
    /// OpenSSF Model Signing: one subject whose digest is the root of the listed resources, and
    /// resources that are exactly the model's files now.
    static func checkModel(_ statement: Statement, model: String, record: String,
                           checks: inout [RecordCheck.FileCheck], problems: inout [String]) throws {
        guard statement.subjects.count == 1 else {
            problems.append("an OpenSSF Model Signing statement has exactly one subject; this one has \(statement.subjects.count)")
            return
        }
        let serialization = statement.predicate["serialization"]
        if serialization?["method"]?.string != "files" || serialization?["hash_type"]?.string != "sha256" {
            problems.append("serialization is \(serialization?["method"]?.string ?? "?")/\(serialization?["hash_type"]?.string ?? "?"); ckptforget verifies files/sha256 signatures")
            return
        }
        let listed = try ModelSigning.listedResources(statement, path: record)
        if ModelSigning.rootDigest(listed).hex != statement.subjects[0].sha256 {
            problems.append("the subject's digest is not the root digest of the listed resources")
        }
        let ignore = Set(statement.predicate["serialization"]?["ignore_paths"]?.array?.compactMap(\.string) ?? []).union(ModelSigning.gitPaths)
        let recordName = RecordPaths.relative(record, to: model)
        guard let present = try? ModelSigning.resources(of: model, ignoring: ignore.union([recordName])) else {
            problems.append("\(model): missing (the signature is for this model)")
            return
        }
        let found = Dictionary(present.map { ($0.name, $0.digest.hex) }, uniquingKeysWith: { a, _ in a })
        for resource in listed {
            let file = resource.name == "." ? model : (model as NSString).appendingPathComponent(resource.name)
            checks.append(.init(name: resource.name, path: file, expected: resource.digest.hex, actual: found[resource.name]))
            if found[resource.name] == nil { problems.append("\(file): missing (signed with sha256 \(resource.digest.hex))") }
            else if found[resource.name] != resource.digest.hex {
                problems.append("\(file): changed: signed sha256 \(resource.digest.hex), the file has \(found[resource.name]!)")
            }
        }
        let signedNames = Set(listed.map(\.name))
        for extra in present where !signedNames.contains(extra.name) {
            problems.append("\((model as NSString).appendingPathComponent(extra.name)): not covered by the signature (a file was added to the model)")
        }
    }
}
