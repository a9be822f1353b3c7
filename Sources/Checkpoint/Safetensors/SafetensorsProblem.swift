/// One case per rule a safetensors header must satisfy (the reference reader's rules).
public enum SafetensorsProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case tooShort(size: Int)
    case headerTooLarge(length: UInt64)
    case headerPastEnd(length: UInt64, fileSize: Int)
    case headerNotObject
    case invalidJSON(String)
    case invalidMetadata(String)
    case invalidEntry(tensor: String, reason: String)
    case unknownDType(tensor: String, dtype: String)
    case lengthMismatch(tensor: String, expected: Int, actual: Int)
    case overlap(tensor: String, other: String)
    case gap(tensor: String, expectedBegin: Int, actualBegin: Int)
    case dataPastEnd(tensor: String, end: Int, bufferSize: Int)
    case trailingBytes(dataEnd: Int, bufferSize: Int)

    public var description: String {
        switch self {
        case .tooShort(let size):
            "file is \(size) bytes; a safetensors file starts with an 8-byte header length"
        case .headerTooLarge(let length):
            "header length \(length) exceeds the 100,000,000-byte limit (corrupt or not safetensors)"
        case .headerPastEnd(let length, let fileSize):
            "header length \(length) runs past the end of the \(fileSize)-byte file (truncated?)"
        case .headerNotObject:
            "header is not a JSON object (expected '{' after the 8-byte length)"
        case .invalidJSON(let reason):
            "header is not valid JSON: \(reason)"
        case .invalidMetadata(let reason):
            "__metadata__ must map strings to strings: \(reason)"
        case .invalidEntry(let tensor, let reason):
            "tensor '\(tensor)': \(reason)"
        case .unknownDType(let tensor, let dtype):
            "tensor '\(tensor)': unknown dtype '\(dtype)' (expected one of \(DType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .lengthMismatch(let tensor, let expected, let actual):
            "tensor '\(tensor)': shape and dtype need \(expected) bytes but data_offsets span \(actual)"
        case .overlap(let tensor, let other):
            "tensor '\(tensor)': data_offsets overlap those of '\(other)'"
        case .gap(let tensor, let expectedBegin, let actualBegin):
            "tensor '\(tensor)': data_offsets begin at \(actualBegin), expected \(expectedBegin) (tensors must tile the data buffer)"
        case .dataPastEnd(let tensor, let end, let bufferSize):
            "tensor '\(tensor)': data ends at byte \(end) but the data buffer has \(bufferSize) bytes (truncated file?)"
        case .trailingBytes(let dataEnd, let bufferSize):
            "tensors end at byte \(dataEnd) of a \(bufferSize)-byte data buffer (trailing bytes)"
        }
    }
}
