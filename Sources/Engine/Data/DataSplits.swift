import Checkpoint

/// One split of a data set: which samples of which data, scaled how. It holds no model, so the same
/// part measures the model before and after an edit.
public struct DataPart {
    public let data: any LabeledData
    public let split: Split
    /// Multiplies every input value (e.g. 1/255 for bytes).
    public let scale: Float

    public init(data: any LabeledData, split: Split, scale: Float) {
        self.data = data
        self.split = split
        self.scale = scale
    }

    public var count: Int { split.indices.count }

    /// A runner of `network` over this part's data (checks that the samples fit the model).
    public func runner(_ network: Network) throws -> NetworkRunner {
        try NetworkRunner(network: network, data: data, scale: scale)
    }

    /// The part's samples read once into memory, scaled, as a part of their own (its k-th sample is
    /// this split's k-th) when they take at most `budget` bytes; else the part itself. Training
    /// draws shuffled batches and measures the split every few steps: from a file, every batch was
    /// a read of scattered rows and every measurement a read of the whole range the split spans,
    /// converted again (most of `ascent`'s time on the seed MLP). Batches and measurements see the
    /// same values in the same order either way, so the results are the same.
    public func held(budget: Int = 256 << 20) throws -> DataPart {
        let (elements, overflow) = count.multipliedReportingOverflow(by: data.sampleShape.reduce(1, *))
        guard !(data is ArrayData), count > 0, !overflow, elements <= budget / MemoryLayout<Float>.size else { return self }
        let (batch, labels) = try samples(split.indices, shape: data.sampleShape)
        return DataPart(data: ArrayData(path: data.path, x: batch.values, y: labels, sampleShape: data.sampleShape),
                        split: Split(name: split.name, indices: Array(0..<count)), scale: 1)
    }
}

/// The data of a run, split: the samples to forget, the rest of the training set (retain), all of
/// it (full) and held-out samples (test). Built once per run by `DataSelection.splits`, used by the
/// statistics, the model passes and the assessments alike.
public struct DataSplits {
    public let forget: DataPart, retain: DataPart
    /// The full training set; nil when only forget and retain were given (it is then their union).
    public let full: DataPart?
    /// Whether `full` holds exactly the samples of forget and retain (one data set split by class or
    /// ids). Its exact Fisher sums and activity are then the sums of the two, with no pass of their
    /// own; mini-batch Fisher depends on the order of the full set, so it still takes one.
    public let fullIsUnion: Bool
    /// Held-out samples, less the forgotten classes (they are not to be recognised any more).
    public let test: DataPart?

    public init(forget: DataPart, retain: DataPart, full: DataPart?, fullIsUnion: Bool, test: DataPart? = nil) {
        self.forget = forget
        self.retain = retain
        self.full = full
        self.fullIsUnion = fullIsUnion
        self.test = test
    }

    public subscript(split: DataSplit) -> DataPart? {
        switch split {
        case .forget: forget
        case .retain: retain
        case .full: full
        case .test: test
        }
    }

    /// Samples per split (full counts forget and retain when it is their union).
    public var sizes: [DataSplit: Int] {
        var sizes: [DataSplit: Int] = [.forget: forget.count, .retain: retain.count, .full: full?.count ?? forget.count + retain.count]
        sizes[.test] = test?.count
        return sizes
    }
}

/// What the user said about the data: the data sets given, which samples are to be forgotten, and
/// how inputs are scaled. `splits` turns it into the run's `DataSplits`, so every command splits alike.
public struct DataSelection {
    public let data: (any LabeledData)?
    public let forgetData: (any LabeledData)?
    public let retainData: (any LabeledData)?
    /// Held-out samples: test metrics, and the non-members of membership inference.
    public let testData: (any LabeledData)?
    /// The forgotten classes: the forget split (unless `forgetIDs` is given), and left out of the test split.
    public var classes: [Int]
    /// The indices of the samples to forget (sample-wise forgetting), when given, and their file.
    public let forgetIDs: Set<Int>?
    public let forgetIDsFile: String?
    public let scale: Float

    public init(data: (any LabeledData)? = nil, forgetData: (any LabeledData)? = nil, retainData: (any LabeledData)? = nil,
                testData: (any LabeledData)? = nil, classes: [Int] = [], forgetIDs: Set<Int>? = nil, forgetIDsFile: String? = nil,
                scale: Float = 1) {
        self.data = data
        self.forgetData = forgetData
        self.retainData = retainData
        self.testData = testData
        self.classes = classes
        self.forgetIDs = forgetIDs
        self.forgetIDsFile = forgetIDsFile
        self.scale = scale
    }

    /// Every data file read, for the records and the output checks.
    public var files: [String] {
        [data, forgetData, retainData, testData].compactMap { $0 }.flatMap(\.files) + (forgetIDsFile.map { [$0] } ?? [])
    }

    /// No training data was given (held-out data alone cannot be split).
    public var isEmpty: Bool { data == nil && forgetData == nil && retainData == nil }

    /// Whether a forget split can be made: own forget data, ids, or classes.
    public var hasTarget: Bool { forgetData != nil || forgetIDs != nil || !classes.isEmpty }

    /// The forget, retain, full and test splits: `forgetData` and `retainData` as given (full =
    /// `data` when given); else `data` split by `forgetIDs` or else by `classes`, full = all of it.
    /// Reads the labels alone; checks that the samples fit `network` and the classes are its own.
    public func splits(network: any ClassifierModel) throws -> DataSplits {
        func whole(_ data: any LabeledData, _ name: DataSplit) throws -> DataPart {
            try network.check(data)
            return DataPart(data: data, split: Split(name: name.rawValue, indices: Array(0..<data.count)), scale: scale)
        }
        let test = try testPart(network: network)
        if let forgetData {
            guard let retainData else { throw DataSelectionError.forgetDataWithoutRetainData }
            return DataSplits(forget: try whole(forgetData, .forget), retain: try whole(retainData, .retain),
                              full: try data.map { try whole($0, .full) }, fullIsUnion: false, test: test)
        }
        guard let data else { throw DataSelectionError.noData }
        try network.check(data)
        let isForgotten: (Int, Int) -> Bool
        if let ids = forgetIDs {
            if let beyond = ids.filter({ $0 >= data.count }).min() {
                throw DataSelectionError.sampleOutOfRange(beyond, samples: data.count, path: data.path)
            }
            isForgotten = { index, _ in ids.contains(index) }
        } else {
            guard !classes.isEmpty else { throw DataSelectionError.noTarget }
            try checkClasses(network)
            isForgotten = { [classes] _, label in classes.contains(label) }
        }
        var forget: [Int] = [], retain: [Int] = []
        try Split.forEachLabel(of: data) { index, label in
            if isForgotten(index, label) { forget.append(index) } else { retain.append(index) }
        }
        guard !forget.isEmpty else { throw EngineError.data(path: data.path, problem: "no sample to forget") }
        return DataSplits(forget: DataPart(data: data, split: Split(name: "forget", indices: forget), scale: scale),
                          retain: DataPart(data: data, split: Split(name: "retain", indices: retain), scale: scale),
                          full: DataPart(data: data, split: Split(name: "full", indices: Array(0..<data.count)), scale: scale),
                          fullIsUnion: true, test: test)
    }

    /// The held-out samples less the forgotten classes; nil without held-out data.
    public func testPart(network: any ClassifierModel) throws -> DataPart? {
        guard let testData else { return nil }
        try checkClasses(network)
        try network.check(testData)
        let classes = classes
        return DataPart(data: testData, split: try Split.select(testData, name: "test") { !classes.contains($1) }, scale: scale)
    }

    private func checkClasses(_ network: any ClassifierModel) throws {
        if let beyond = classes.first(where: { $0 >= network.classes }) {
            throw DataSelectionError.classOutOfRange(beyond, classes: network.classes, path: network.path)
        }
    }
}

/// Why the data cannot be split as asked (exit 2).
public enum DataSelectionError: Error, Equatable, CustomStringConvertible {
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
