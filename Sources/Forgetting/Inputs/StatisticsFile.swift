import Checkpoint

/// A statistics file (HDF5) in ckptforget's schema: Fisher diagonals per tensor and split, and
/// per-unit activity and correlation per layer. The schema is in man/ckptforget.1 (STATISTICS FILES)
/// and Fixtures/STATS.md:
///
///     /fisher/<split>/<tensor name>          same shape as the tensor (split: forget, retain, full)
///     /activity/<split>/<layer>/{pre,post}   mean activation of the layer's inputs / outputs
///     /correlation/forget/<layer>/{pre,post} share of each unit's activity on the forget data
public final class StatisticsFile {
    public let file: any CheckpointFile
    private let byName: [String: TensorInfo]

    public var path: String { file.path }

    public init(path: String) throws {
        file = try openCheckpoint(path)
        guard file.format == .hdf5 else {
            throw StatisticsError.notHDF5(path: path)
        }
        byName = Dictionary(uniqueKeysWithValues: file.tensors.map { ($0.name, $0) })
        guard byName.keys.contains(where: { $0.hasPrefix("fisher/") || $0.hasPrefix("correlation/") || $0.hasPrefix("activity/") }) else {
            throw StatisticsError.empty(path: path)
        }
    }

    public func fisherName(_ split: FisherSplit, tensor: String) -> String { "fisher/\(split.rawValue)/\(tensor)" }
    public func correlationName(layer: String, side: String) -> String { "correlation/forget/\(layer)/\(side)" }

    public func info(_ name: String) -> TensorInfo? { byName[name] }

    public func read(_ name: String) throws -> TensorValues {
        guard let info = byName[name] else { throw StatisticsError.missing(path: path, entries: [name]) }
        return try file.read(info).values
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
            "\(path): no /fisher, /activity or /correlation groups: not a ckptforget statistics file"
        case .missing(let path, let entries):
            "\(path): missing \(entries.prefix(5).joined(separator: ", "))\(entries.count > 5 ? " and \(entries.count - 5) more" : "")"
        case .mismatch(let path, let problems, let total):
            "\(path) does not match the checkpoint: \(problems.joined(separator: "; "))\(total > problems.count ? "; and \(total - problems.count) more" : "")"
        }
    }
}
