/// Why a key, a signature or a record could not be used. Messages name the file and say what was
/// expected.
public enum SigningError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case badKey(path: String, reason: String)
    case malformedRecord(path: String, reason: String)
    case failed(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
        case .badKey(let path, let reason): "\(path): \(reason)"
        case .malformedRecord(let path, let reason): "\(path): not a valid signed record: \(reason)"
        case .failed(let reason): "signing failed: \(reason)"
        }
    }
}
