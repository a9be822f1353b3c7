/// One case per rule the zip layout of a `torch.save` file must satisfy, beyond the zip's own
/// (`ZipProblem`) and the pickle's (`PickleProblem`).
public enum TorchProblem: Error, Equatable, CustomStringConvertible, Sendable {
    /// Members under several archive prefixes (torch writes one: the file's base name).
    case prefixes([String])
    case missingMember(String)
    case byteOrder(String)
    case badVersion(String)
    case pickleTooLarge(size: Int, limit: Int)
    case storageMissing(key: String, member: String)
    /// A storage member compressed: tensors are read at offsets, and torch with mmap would read
    /// the compressed bytes as values.
    case storageCompressed(member: String)
    /// The record's length is not numel × itemsize (a record shorter than its tensor: CVE-2026-24747).
    case storageLength(member: String, expected: Int, actual: Int)
    /// A storage record that no named tensor reads: an edit would leave its bytes in the output.
    case unreferencedStorage(member: String)

    public var description: String {
        switch self {
        case .prefixes(let prefixes):
            "members under \(prefixes.count) archive prefixes (\(prefixes.prefix(4).joined(separator: ", "))); torch.save writes one"
        case .missingMember(let name):
            "no member '\(name)' (torch.save always writes it)"
        case .byteOrder(let order):
            "byteorder is '\(order)'; only little-endian storages are read"
        case .badVersion(let text):
            "version member holds '\(text)', not a format version number"
        case .pickleTooLarge(let size, let limit):
            "data.pkl is \(size) bytes, more than the \(limit) a state dict's pickle needs"
        case .storageMissing(let key, let member):
            "the pickle names storage '\(key)' but the archive has no member '\(member)'"
        case .storageCompressed(let member):
            "storage member '\(member)' is compressed; torch.save stores storages uncompressed (re-save the file with torch.save)"
        case .storageLength(let member, let expected, let actual):
            "storage member '\(member)' holds \(actual) bytes, but the pickle's numel × itemsize is \(expected)"
        case .unreferencedStorage(let member):
            "storage member '\(member)' is read by no tensor of the state dict (a value replaced by a duplicate key?); an edit would leave its old bytes in the output"
        }
    }
}
