import Foundation

/// A record's file name says which model it is for, and a check holds it to that: `X.manifest.json`
/// attests the model X (the file X, or the files below the directory X of a sharded output: every
/// subject is X or X/…, as the writer names them), and `X.sig` signs X (its one subject is named
/// X, as the writer and `model_signing` name it). Without this, two models' records swapped
/// between them verify fine, each against the other model's files.
public enum RecordBinding {
    public static let attestationSuffix = ".manifest.json"

    /// Problems with the subjects of the record at `path` against its name; none when the name
    /// does not end in `.manifest.json` (a record written with --manifest under a name of its own
    /// claims no model by its name, and is held to what it says). Names already refused as names
    /// (`ConfinedFile.problem(withName:)`) are reported there, not again here.
    static func attestationProblems(record path: String, subjects: [Statement.Subject]) -> [String] {
        let name = (path as NSString).lastPathComponent
        guard name.hasSuffix(attestationSuffix), name.count > attestationSuffix.count else { return [] }
        let model = String(name.dropLast(attestationSuffix.count))
        guard !subjects.isEmpty else { return ["it attests no file (\(name) must attest the model \(ConfinedFile.quoted(model)))"] }
        let strays = subjects.filter { $0.name != model && !$0.name.hasPrefix(model + "/") && ConfinedFile.problem(withName: $0.name) == nil }
        return strays.map {
            "it attests \(ConfinedFile.quoted($0.name)), not the model \(ConfinedFile.quoted(model)) its name says (\(name) must attest \(model), "
                + "or the files below the directory \(model)/; were two models' records swapped or renamed?)"
        }
    }

    /// The problem with a model signature whose subject is named `subject`, checked against
    /// `model` (the record's path less `.sig`, or --files); nil when the names agree.
    static func signatureProblem(subject: String, model: String) -> String? {
        let name = (RecordPaths.absolute(model) as NSString).lastPathComponent
        guard subject != name else { return nil }
        return "it signs the model \(ConfinedFile.quoted(subject)), not \(ConfinedFile.quoted(name)) (a model signature names the model it was "
            + "made for; were two models' signatures swapped or renamed? With --files, give the model it was made for)"
    }
}
