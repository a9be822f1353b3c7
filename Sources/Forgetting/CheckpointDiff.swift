import Checkpoint

/// How one tensor compares between two checkpoints.
public struct TensorComparison: Sendable {
    public enum Status: Sendable, Equatable {
        case identical, changed, onlyInFirst, onlyInSecond
        /// Not compared: integer tensors, or shapes or dtypes that differ.
        case notCompared(String)
    }

    public let name: String
    public let status: Status
    /// Elements changed, L2 and max |Δ| (as a pass's record measures them); nil unless compared.
    public let edit: TensorEdit?
    /// Share of elements that are exactly zero, in the first and the second file.
    public let zerosBefore: Double?, zerosAfter: Double?
}

/// `ckptforget diff A B`: every tensor of two checkpoints, matched by name, compared value by value.
/// It measures the change the same way a run's per-tensor records do, so the two agree.
public enum CheckpointDiff {
    public static func compare(_ first: any CheckpointFile, _ second: any CheckpointFile) throws -> [TensorComparison] {
        let others = Dictionary(uniqueKeysWithValues: second.tensors.map { ($0.name, $0) })
        var result: [TensorComparison] = []
        for info in first.tensors {
            guard let other = others[info.name] else {
                result.append(TensorComparison(name: info.name, status: .onlyInFirst, edit: nil, zerosBefore: nil, zerosAfter: nil))
                continue
            }
            guard info.shape == other.shape, info.dtype == other.dtype else {
                let reason = "\(info.dtype.rawValue) \(info.shape) vs \(other.dtype.rawValue) \(other.shape)"
                result.append(TensorComparison(name: info.name, status: .notCompared(reason), edit: nil, zerosBefore: nil, zerosAfter: nil))
                continue
            }
            guard info.dtype.isEditable else {
                result.append(TensorComparison(name: info.name, status: .notCompared("\(info.dtype.rawValue): tensors of this dtype are never edited, so not compared"),
                                               edit: nil, zerosBefore: nil, zerosAfter: nil))
                continue
            }
            let (a, b) = (try first.read(info).values, try second.read(other).values)
            let edit = TensorEdit(tensor: info.name, before: a, after: b)
            result.append(TensorComparison(name: info.name, status: edit.elementsChanged == 0 ? .identical : .changed, edit: edit,
                                           zerosBefore: zeroShare(a), zerosAfter: zeroShare(b)))
        }
        let names = Set(first.tensors.map(\.name))
        for info in second.tensors where !names.contains(info.name) {
            result.append(TensorComparison(name: info.name, status: .onlyInSecond, edit: nil, zerosBefore: nil, zerosAfter: nil))
        }
        return result
    }

    private static func zeroShare(_ values: TensorValues) -> Double {
        guard values.count > 0 else { return 0 }
        return Double(values.indices.count { values[$0] == 0 }) / Double(values.count)
    }
}
