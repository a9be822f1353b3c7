import Checkpoint

/// NaN and infinity in the tensors a run edits: a tensor that holds them is refused before it is
/// edited (a pass would spread them or hide them), unless the run allows them, when they are
/// reported; values a pass makes non-finite, or that overflow the tensor's dtype, are reported.
enum NonFiniteValues {
    /// Throws for a tensor with NaN or infinite values unless `allowed`; then returns the note.
    static func check(_ tensor: Tensor, in path: String, allowed: Bool) throws -> String? {
        let (nan, infinite) = tensor.values.nonFinite
        guard nan + infinite > 0 else { return nil }
        guard allowed else { throw NumericsError.nonFinite(path: path, tensor: tensor.name, nan: nan, infinite: infinite) }
        return "\(tensor.name) holds \(counts(nan, infinite)); edited anyway (--allow-nonfinite)"
    }

    /// Notes on what one pass's edit of one tensor made non-finite.
    static func notes(_ edit: TensorEdit, pass: String, dtype: DType?) -> [String] {
        var notes: [String] = []
        if edit.overflowed > 0 {
            notes.append("\(pass): \(English.count(edit.overflowed, "value")) of \(edit.tensor) overflowed \(dtype?.rawValue ?? "its dtype") and were stored as infinity")
        }
        if edit.madeNonFinite > 0 {
            notes.append("\(pass): made \(English.count(edit.madeNonFinite, "value")) of \(edit.tensor) NaN or infinite")
        }
        return notes
    }

    static func counts(_ nan: Int, _ infinite: Int) -> String {
        [nan > 0 ? "\(nan) NaN" : nil, infinite > 0 ? "\(English.count(infinite, "infinite value"))" : nil].compactMap { $0 }.joined(separator: " and ")
    }
}

/// Why a run stops on the values it found (exit 2).
public enum NumericsError: Error, Equatable, CustomStringConvertible {
    case nonFinite(path: String, tensor: String, nan: Int, infinite: Int)

    public var description: String {
        switch self {
        case .nonFinite(let path, let tensor, let nan, let infinite):
            "\(path): tensor '\(tensor)' holds \(NonFiniteValues.counts(nan, infinite)); a pass would spread or hide them. "
                + "Nothing was written; --allow-nonfinite edits it anyway and records the count"
        }
    }
}
