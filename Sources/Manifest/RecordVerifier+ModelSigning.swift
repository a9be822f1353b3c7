import Foundation

extension RecordVerifier {
    /// OpenSSF Model Signing: one subject, named after the model, whose digest is the root of the
    /// listed resources, and resources that are exactly the model's files now.
    static func checkModel(_ statement: Statement, model: String, record: String,
                           checks: inout [RecordCheck.FileCheck], problems: inout [String]) throws {
        guard statement.subjects.count == 1 else {
            problems.append("an OpenSSF Model Signing statement has exactly one subject; this one has \(statement.subjects.count)")
            return
        }
        if let misnamed = RecordBinding.signatureProblem(subject: statement.subjects[0].name, model: model) {
            problems.append(misnamed)
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
        let present: [(name: String, sha256: String)]
        do {
            guard let files = try presentFiles(of: model, ignoring: ignore.union([recordName])) else {
                problems.append("\(model): missing (the signature is for this model)")
                return
            }
            present = files
        } catch let refused as SubjectRefusal {
            problems.append(refusal(model, refused, what: "model"))
            return
        } catch {
            problems.append("\(error)")
            return
        }
        let found = Dictionary(present.map { ($0.name, $0.sha256) }, uniquingKeysWith: { a, _ in a })
        for resource in listed {
            let file = resource.name == "." ? model : (model as NSString).appendingPathComponent(resource.name)
            // Only what is on disk is opened; a listed name that no model file could have is named as such.
            if resource.name != ".", let refused = ConfinedFile.problem(withName: resource.name) {
                checks.append(.init(name: resource.name, path: file, expected: resource.digest.hex, actual: nil, refused: refused.description))
                problems.append(refusal(resource.name, refused, what: "signed resource"))
                continue
            }
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

    /// What the model holds now, found without following a link and opened through
    /// `ConfinedFile`: the one resource "." for a regular file, or every regular file below a
    /// directory, in signing order, less `ignoring`; nil when nothing is there.
    static func presentFiles(of model: String, ignoring: Set<String>) throws -> [(name: String, sha256: String)]? {
        if ConfinedFile.isDirectory(atPath: model) {
            let names = ModelSigning.kept(try ModelSigning.fileNames(below: URL(fileURLWithPath: model).standardizedFileURL), ignoring: ignoring)
            return try names.compactMap { name in
                guard let handle = try ConfinedFile.open(name, in: model) else { return nil }  // removed since it was listed
                return (name, try SHA256.digest(of: handle).hex)
            }
        }
        let path = RecordPaths.absolute(model) as NSString
        guard let handle = try ConfinedFile.open(path.lastPathComponent, in: path.deletingLastPathComponent) else { return nil }
        return [(".", try SHA256.digest(of: handle).hex)]
    }
}
