import Engine

/// The data a run measures with: the data sets given, which of their samples are to be forgotten,
/// and how inputs are scaled. It builds the forget, retain and full splits the engine measures
/// (Fisher diagonals, activity) and assesses models on them, so every command splits alike.
public struct EvaluationData {
    public let data: (any LabeledData)?
    public let forgetData: (any LabeledData)?
    public let retainData: (any LabeledData)?
    /// Held-out samples: test metrics, and the non-members of membership inference.
    public let testData: (any LabeledData)?
    /// The forgotten classes: the forget split (unless `forgetIDs` is given), and left out of the test split.
    public let classes: [Int]
    /// The indices of the samples to forget (sample-wise forgetting), when given, and their file.
    public let forgetIDs: Set<Int>?
    public let forgetIDsFile: String?
    public let scale: Float
    public let miaFeature: MembershipInference.Feature

    public init(data: (any LabeledData)?, forgetData: (any LabeledData)?, retainData: (any LabeledData)?,
                testData: (any LabeledData)?, classes: [Int], forgetIDs: Set<Int>?, forgetIDsFile: String? = nil,
                scale: Float, miaFeature: MembershipInference.Feature) {
        self.data = data
        self.forgetData = forgetData
        self.retainData = retainData
        self.testData = testData
        self.classes = classes
        self.forgetIDs = forgetIDs
        self.forgetIDsFile = forgetIDsFile
        self.scale = scale
        self.miaFeature = miaFeature
    }

    /// Every data file read, for the records and the output checks.
    public var files: [String] {
        [data, forgetData, retainData, testData].compactMap { $0 }.flatMap(\.files) + (forgetIDsFile.map { [$0] } ?? [])
    }

    /// No training data was given (held-out data alone cannot be split).
    public var isEmpty: Bool { data == nil && forgetData == nil && retainData == nil }

    /// The forget, retain and full splits: `forgetData` and `retainData` as given (full = `data`
    /// when given); else `data` split by `forgetIDs` or else by `classes`, full = all of it.
    public func splits(network: Network) throws -> StatisticsFileWriter.Splits {
        func whole(_ data: any LabeledData, _ name: String) throws -> StatisticsFileWriter.Part {
            .init(runner: try NetworkRunner(network: network, data: data, scale: scale), split: Split(name: name, indices: Array(0..<data.count)))
        }
        if let forgetData {
            guard let retainData else { throw EvaluationDataError.forgetDataWithoutRetainData }
            return .init(forget: try whole(forgetData, "forget"), retain: try whole(retainData, "retain"),
                         full: try data.map { try whole($0, "full") }, fullIsUnion: false)
        }
        guard let data else { throw EvaluationDataError.noData }
        let runner = try NetworkRunner(network: network, data: data, scale: scale)
        let isForgotten: (Int, Int) -> Bool
        if let ids = forgetIDs {
            if let beyond = ids.filter({ $0 >= data.count }).min() {
                throw EvaluationDataError.sampleOutOfRange(beyond, samples: data.count, path: data.path)
            }
            isForgotten = { index, _ in ids.contains(index) }
        } else {
            guard !classes.isEmpty else { throw EvaluationDataError.noTarget }
            if let beyond = classes.first(where: { $0 >= network.classes }) {
                throw EvaluationDataError.classOutOfRange(beyond, classes: network.classes, path: network.path)
            }
            isForgotten = { _, label in classes.contains(label) }
        }
        var forget: [Int] = [], retain: [Int] = []
        try Split.forEachLabel(of: data) { index, label in
            if isForgotten(index, label) { forget.append(index) } else { retain.append(index) }
        }
        guard !forget.isEmpty else { throw EngineError.data(path: data.path, problem: "no sample to forget") }
        return .init(forget: .init(runner: runner, split: Split(name: "forget", indices: forget)),
                     retain: .init(runner: runner, split: Split(name: "retain", indices: retain)),
                     full: .init(runner: runner, split: Split(name: "full", indices: Array(0..<data.count))), fullIsUnion: true)
    }

    /// The test split: the held-out data less the forgotten classes (they are not to be recognised
    /// any more); nil without held-out data.
    public func testSplit(network: Network) throws -> (NetworkRunner, Split)? {
        guard let testData else { return nil }
        let classes = classes
        return (try NetworkRunner(network: network, data: testData, scale: scale),
                try Split.select(testData, name: "test") { !classes.contains($1) })
    }

    /// Metrics of `network` on the forget and retain splits and on the test split, with membership
    /// inference when all three are there. `known` holds outputs of this network already computed
    /// (by the Fisher passes), by split name: those splits are not run again.
    public func assess(_ network: Network, splits: StatisticsFileWriter.Splits,
                       known: [String: (values: [Float], labels: [Int])] = [:]) throws -> Assessment {
        func predictions(_ runner: NetworkRunner, _ split: Split) throws -> Predictions? {
            if let (values, labels) = known[split.name] { return Predictions(outputs: values, labels: labels, classes: network.classes) }
            guard !split.indices.isEmpty else { return nil }
            // The splits' runners may hold another network (the model before the edit).
            let (outputs, labels) = try NetworkRunner(network: network, data: runner.data, scale: runner.scale).predictions(split)
            return Predictions(outputs: outputs, labels: labels, classes: network.classes)
        }
        return Assessment(forget: try predictions(splits.forget.runner, splits.forget.split),
                          retain: try predictions(splits.retain.runner, splits.retain.split),
                          test: try testSplit(network: network).map(predictions) ?? nil, feature: miaFeature)
    }
}

/// Why the data cannot be split as asked (exit 2).
public enum EvaluationDataError: Error, Equatable, CustomStringConvertible {
    case noData
    case noTarget
    case forgetDataWithoutRetainData
    case sampleOutOfRange(Int, samples: Int, path: String)
    case classOutOfRange(Int, classes: Int, path: String)

    public var description: String {
        switch self {
        case .noData: "no data: give --data FILE (with --class C or --forget-ids F), or --forget-data and --retain-data"
        case .noTarget: "say what to forget: --class C or --forget-ids FILE"
        case .forgetDataWithoutRetainData: "--forget-data needs --retain-data (the rest of the training set)"
        case .sampleOutOfRange(let index, let samples, let path): "--forget-ids: sample \(index) is beyond the \(samples) samples of \(path)"
        case .classOutOfRange(let index, let classes, let path): "--class \(index) is out of range: \(path) has \(classes) classes"
        }
    }
}
