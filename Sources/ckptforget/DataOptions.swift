import Engine
import Evaluation
import Foundation

/// The data options shared by `stats`, `eval` and the main command: where the samples are, how to
/// scale them, and which of them are to be forgotten.
struct DataOptions {
    static let options: [Arguments.Option] = [
        .value("--data"), .value("--forget-data"), .value("--retain-data"), .value("--test-data"), .value("--forget-ids"),
        .value("--scale"), .value("--mia-feature"),
    ]

    let data: (any LabeledData)?
    let forgetData: (any LabeledData)?
    let retainData: (any LabeledData)?
    /// Held-out samples: test metrics, and the non-members of membership inference.
    let testData: (any LabeledData)?
    let miaFeature: MembershipInference.Feature
    let forgetIDs: Set<Int>?
    let scale: Float
    /// Every data file read, for the records.
    let files: [String]

    init(_ arguments: Arguments) throws {
        data = try arguments.value("--data").map(DataSource.open)
        forgetData = try arguments.value("--forget-data").map(DataSource.open)
        retainData = try arguments.value("--retain-data").map(DataSource.open)
        testData = try arguments.value("--test-data").map(DataSource.open)
        guard let feature = MembershipInference.Feature(rawValue: arguments.value("--mia-feature") ?? "entropy") else {
            throw UsageError.invalid("--mia-feature \(arguments.value("--mia-feature")!): expected entropy or confidence")
        }
        miaFeature = feature
        scale = try Self.parseScale(arguments.value("--scale") ?? "1")
        if let path = arguments.value("--forget-ids") {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw UsageError.invalid("--forget-ids \(path): cannot read the file")
            }
            var ids = Set<Int>()
            for token in text.split(whereSeparator: { $0 == "\n" || $0 == "," || $0 == " " || $0 == "\t" }) {
                guard let id = Int(token), id >= 0 else { throw UsageError.invalid("--forget-ids \(path): '\(token)' is not a sample index") }
                ids.insert(id)
            }
            forgetIDs = ids
        } else {
            forgetIDs = nil
        }
        files = [data, forgetData, retainData, testData].compactMap { $0?.path } + (arguments.value("--forget-ids").map { [$0] } ?? [])
    }

    var isEmpty: Bool { data == nil && forgetData == nil && retainData == nil }

    /// `1/255`, `0.5`, `2`.
    static func parseScale(_ text: String) throws(UsageError) -> Float {
        let parts = text.split(separator: "/")
        let values = parts.compactMap { Double($0) }
        guard values.count == parts.count, (1...2).contains(values.count), values.allSatisfy({ $0.isFinite }), values.count == 1 || values[1] != 0 else {
            throw .invalid("--scale \(text): expected a number or a fraction such as 1/255")
        }
        return Float(values.count == 2 ? values[0] / values[1] : values[0])
    }

    /// The forget, retain and full splits: --forget-data and --retain-data as given (full = --data
    /// when given); else --data split by --class (samples of those classes) or --forget-ids (samples
    /// at those indices), full = all of --data.
    func splits(network: Network, classes: [Int]) throws -> StatisticsFileWriter.Splits {
        func whole(_ data: any LabeledData, _ name: String) throws -> StatisticsFileWriter.Part {
            StatisticsFileWriter.Part(runner: try NetworkRunner(network: network, data: data, scale: scale), split: Split(name: name, indices: Array(0..<data.count)))
        }
        if let forgetData {
            guard let retainData else { throw UsageError.invalid("--forget-data needs --retain-data (the rest of the training set)") }
            return StatisticsFileWriter.Splits(forget: try whole(forgetData, "forget"), retain: try whole(retainData, "retain"),
                                               full: try data.map { try whole($0, "full") }, fullIsUnion: false)
        }
        guard let data else { throw UsageError.invalid("no data: give --data FILE (with --class C or --forget-ids F), or --forget-data and --retain-data") }
        let runner = try NetworkRunner(network: network, data: data, scale: scale)
        let isForgotten: (Int, Int) -> Bool
        if let forgetIDs {
            if let bad = forgetIDs.first(where: { $0 >= data.count }) {
                throw UsageError.invalid("--forget-ids: sample \(bad) is beyond the \(data.count) samples of \(data.path)")
            }
            isForgotten = { index, _ in forgetIDs.contains(index) }
        } else {
            guard !classes.isEmpty else { throw UsageError.invalid("say what to forget: --class C or --forget-ids FILE") }
            if let bad = classes.first(where: { $0 >= network.classes }) {
                throw UsageError.invalid("--class \(bad) is out of range: \(network.path) has \(network.classes) classes")
            }
            isForgotten = { _, label in classes.contains(label) }
        }
        let forget = try Split.select(data, name: "forget", keep: isForgotten)
        let retain = try Split.select(data, name: "retain") { !isForgotten($0, $1) }
        guard !forget.indices.isEmpty else { throw EngineError.data(path: data.path, problem: "no sample to forget") }
        return StatisticsFileWriter.Splits(forget: .init(runner: runner, split: forget), retain: .init(runner: runner, split: retain),
                                           full: .init(runner: runner, split: Split(name: "full", indices: Array(0..<data.count))),
                                           fullIsUnion: true)
    }

    /// Metrics of `network` on the forget and retain splits and on the test data (less the
    /// forgotten classes), with membership inference when all three are there.
    func assess(_ network: Network, splits: StatisticsFileWriter.Splits, classes: [Int]) throws -> Assessment {
        let test = try testData.map { data -> (NetworkRunner, Split) in
            let runner = try NetworkRunner(network: network, data: data, scale: scale)
            return (runner, try Split.select(data, name: "test") { !classes.contains($1) })
        }
        return try Assessment.measure(network, forget: (splits.forget.runner, splits.forget.split),
                                      retain: (splits.retain.runner, splits.retain.split), test: test, feature: miaFeature)
    }
}
