/// One case per rule a `.keras` archive must satisfy beyond the zip's own (`ZipProblem`).
public enum KerasProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case missingMember(String, found: [String])
    /// A member Keras keeps at the top level found in a folder (Keras does not load those).
    case nested(String)
    /// `model.weights.h5` is deflated: libhdf5 reads it in place, which needs it stored.
    case weightsCompressed
    case badConfig(reason: String)
    /// `config.json` larger than a model config gets (it is read whole, into a tree).
    case configTooLarge(size: Int, limit: Int)

    public var description: String {
        switch self {
        case .missingMember(let name, let found):
            "no member '\(name)' (found \(found.prefix(6).joined(separator: ", "))); a .keras archive from model.save holds it"
        case .nested(let name):
            "member '\(name)' is in a folder; Keras keeps it at the top of the archive"
        case .weightsCompressed:
            "model.weights.h5 is compressed (deflate); Keras stores it uncompressed: re-save with model.save(\"m.keras\"), or re-zip with zip -0"
        case .configTooLarge(let size, let limit):
            "config.json is \(size) bytes, more than the \(limit) (\(limit >> 20) MiB) a model config takes (real ones are a few hundred KiB)"
        case .badConfig(let reason):
            "config.json is not a UTF-8 JSON object: \(reason)"
        }
    }
}
