import Checkpoint
import Engine

/// Statistics in ckptforget's schema (`StatisticsSchema`), from a file or computed by the run.
public protocol StatisticsSource: AnyObject {
    /// Where they come from (a file, or a description of the computation), for messages.
    var path: String { get }
    /// The entry's dtype and shape, or nil if there is none.
    func info(_ name: String) -> TensorInfo?
    func read(_ name: String) throws -> TensorValues
    /// The elements `elements` (flat indices) of an entry, without reading the rest where the source can.
    func read(_ name: String, elements: Range<Int>) throws -> TensorValues
}

/// A statistics file (HDF5) in ckptforget's schema, given with `--stats`.
public final class StatisticsFile: StatisticsSource {
    public let file: any CheckpointFile
    private let byName: [String: TensorInfo]

    public var path: String { file.path }

    public init(path: String) throws {
        file = try openCheckpoint(path)
        guard file.format == CheckpointFormats.hdf5 else {
            throw StatisticsError.notHDF5(path: path)
        }
        byName = Dictionary(file.tensors.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        guard byName.keys.contains(where: { name in StatisticsSchema.groups.contains { name.hasPrefix($0 + "/") } }) else {
            throw StatisticsError.empty(path: path)
        }
    }

    public func info(_ name: String) -> TensorInfo? { byName[name] }

    public func read(_ name: String) throws -> TensorValues {
        guard let info = byName[name] else { throw StatisticsError.missing(path: path, entries: [name]) }
        return try file.read(info).values
    }

    public func read(_ name: String, elements: Range<Int>) throws -> TensorValues {
        guard let info = byName[name] else { throw StatisticsError.missing(path: path, entries: [name]) }
        return try file.read(info, elements: elements)
    }
}

/// Statistics the engine measured during this run (`--data` without `--stats`), held in memory:
/// nothing is written to a temporary file. Values are rounded to float32, as a statistics file
/// stores them, so a run from data edits exactly as `stats` followed by `--stats` would.
public final class ComputedStatistics: StatisticsSource {
    public let path: String
    public let measured: MeasuredStatistics
    private let entries: [String: (values: [Double], shape: [Int])]

    public init(_ measured: MeasuredStatistics, description: String) {
        path = description
        self.measured = measured
        entries = Dictionary(measured.entries.map { ($0.name, ($0.values, $0.shape)) }, uniquingKeysWith: { first, _ in first })
    }

    public func info(_ name: String) -> TensorInfo? {
        entries[name].map { TensorInfo(name: name, dtype: .float32, shape: $0.shape) }
    }

    public func read(_ name: String) throws -> TensorValues {
        guard let entry = entries[name] else { throw StatisticsError.missing(path: path, entries: [name]) }
        return .float32(entry.values.map(Float.init))
    }

    public func read(_ name: String, elements: Range<Int>) throws -> TensorValues {
        guard let entry = entries[name] else { throw StatisticsError.missing(path: path, entries: [name]) }
        return .float32(entry.values[elements].map(Float.init))
    }
}

/// Why a statistics file or snapshot cannot serve the passes that need it (exit 2).
public enum StatisticsError: Error, Equatable, CustomStringConvertible {
    case notHDF5(path: String)
    case empty(path: String)
    case missing(path: String, entries: [String])
    case mismatch(path: String, problems: [String], total: Int)

    public var description: String {
        switch self {
        case .notHDF5(let path):
            "\(path): a statistics file is HDF5 (see STATISTICS FILES in man ckptforget)"
        case .empty(let path):
            "\(path): no /fisher, /activity, /correlation or /spikes groups: not a ckptforget statistics file"
        case .missing(let path, let entries):
            "\(path): missing \(entries.prefix(5).joined(separator: ", "))\(entries.count > 5 ? " and \(entries.count - 5) more" : "")"
        case .mismatch(let path, let problems, let total):
            "\(path) does not match the checkpoint: \(problems.joined(separator: "; "))\(total > problems.count ? "; and \(total - problems.count) more" : "")"
        }
    }
}
