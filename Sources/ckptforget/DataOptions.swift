import Engine
import Evaluation
import Foundation

/// The data options shared by `stats`, `eval` and the main command: where the samples are, how to
/// scale them, which of them are to be forgotten, and how membership inference scores them.
enum DataOptions {
    static let options: [Arguments.Option] = [
        .value("--data"), .value("--forget-data"), .value("--retain-data"), .value("--test-data"), .value("--forget-ids"),
        .value("--scale"), .value("--mia-feature"),
    ]

    /// The data named by the arguments; `classes` are those of `--class`.
    static func selection(_ arguments: Arguments, classes: [Int]) throws -> DataSelection {
        DataSelection(data: try arguments.value("--data").map(DataSource.open),
                      forgetData: try arguments.value("--forget-data").map(DataSource.open),
                      retainData: try arguments.value("--retain-data").map(DataSource.open),
                      testData: try arguments.value("--test-data").map(DataSource.open),
                      classes: classes, forgetIDs: try arguments.value("--forget-ids").map(parseIDs),
                      forgetIDsFile: arguments.value("--forget-ids"), scale: try parseScale(arguments.value("--scale") ?? "1"))
    }

    static func miaFeature(_ arguments: Arguments) throws(UsageError) -> MembershipInference.Feature {
        guard let feature = MembershipInference.Feature(rawValue: arguments.value("--mia-feature") ?? "entropy") else {
            throw .invalid("--mia-feature \(arguments.value("--mia-feature")!): expected entropy or confidence")
        }
        return feature
    }

    /// Sample indices separated by newlines, commas, spaces or tabs.
    static func parseIDs(_ path: String) throws -> Set<Int> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw UsageError.invalid("--forget-ids \(path): cannot read the file")
        }
        var ids = Set<Int>()
        for token in text.split(whereSeparator: { $0 == "\n" || $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" }) {
            guard let id = Int(token), id >= 0 else { throw UsageError.invalid("--forget-ids \(path): '\(token)' is not a sample index") }
            ids.insert(id)
        }
        return ids
    }

    /// `1/255`, `0.5`, `2`.
    static func parseScale(_ text: String) throws(UsageError) -> Float {
        let parts = text.split(separator: "/")
        let values = parts.compactMap { Double($0) }
        guard values.count == parts.count, (1...2).contains(values.count), values.allSatisfy({ $0.isFinite }), values.count == 1 || values[1] != 0 else {
            throw .invalid("--scale \(text): expected a number or a fraction such as 1/255")
        }
        return Float(values.count == 2 ? values[0] / values[1] : values[0])
    }
}
