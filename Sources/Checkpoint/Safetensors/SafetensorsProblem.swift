/// One case per rule a safetensors header must satisfy: the reference reader's rules (safetensors
/// 0.8.0), plus one of ckptforget's own (`emptyShapeTooLarge`). Each message says what was found and
/// what was expected; `CheckpointError.safetensors` puts the file's path in front.
public enum SafetensorsProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case tooShort(size: Int)
    case headerTooLarge(length: UInt64)
    case headerPastEnd(length: UInt64, fileSize: Int)
    /// The header's bytes are not UTF-8 (offset within the header).
    case invalidUTF8(offset: Int)
    /// Not JSON as serde_json reads it (the reason with its line and column).
    case invalidJSON(String)
    /// JSON, but not an object.
    case headerNotObject
    case duplicateMetadata
    case invalidMetadata(String)
    case invalidEntry(tensor: String, reason: String)
    /// `dtype`, `shape` or `data_offsets` written twice in one entry.
    case duplicateField(tensor: String, field: String)
    /// A dimension or offset that is not a non-negative integer written as one (`4.0`, `-1`, `"4"`).
    case notAnInteger(tensor: String, field: String, written: String)
    case unknownDType(tensor: String, dtype: String)
    /// Sub-byte elements (F4, F6_*) that end inside a byte.
    case partialByte(tensor: String, dtype: String, count: UInt64)
    case lengthMismatch(tensor: String, expected: UInt64, actual: UInt64)
    /// ckptforget's own rule: a tensor without elements whose other dimensions are too large to compute with.
    case emptyShapeTooLarge(tensor: String, shape: String)
    case overlap(tensor: String, other: String)
    case gap(tensor: String, expectedBegin: UInt64, actualBegin: UInt64)
    case dataPastEnd(tensor: String, end: UInt64, bufferSize: UInt64)
    case trailingBytes(dataEnd: UInt64, bufferSize: UInt64)

    public var description: String {
        switch self {
        case .tooShort(let size):
            "file is \(size) bytes; a safetensors file starts with an 8-byte header length"
        case .headerTooLarge(let length):
            "header length \(length) exceeds the 100,000,000-byte limit (corrupt or not safetensors)"
        case .headerPastEnd(let length, let fileSize):
            "header length \(length) runs past the end of the \(fileSize)-byte file (truncated?)"
        case .invalidUTF8(let offset):
            "header is not UTF-8: byte \(offset) of the header starts no valid UTF-8 sequence (corrupt or not safetensors)"
        case .invalidJSON(let reason):
            "header is not valid JSON: \(reason)"
        case .headerNotObject:
            "header is not a JSON object (expected '{' after the 8-byte length and any spaces)"
        case .duplicateMetadata:
            "header has __metadata__ more than once; the safetensors reader refuses that (keep one)"
        case .invalidMetadata(let reason):
            "__metadata__ must be null or map strings to strings: \(reason)"
        case .invalidEntry(let tensor, let reason):
            "tensor '\(tensor)': \(reason)"
        case .duplicateField(let tensor, let field):
            "tensor '\(tensor)': '\(field)' appears twice in its entry; the safetensors reader refuses that (keep one)"
        case .notAnInteger(let tensor, let field, let written):
            "tensor '\(tensor)': '\(field)' holds \(written), expected a non-negative integer written without sign, fraction or exponent (4, not 4.0)"
        case .unknownDType(let tensor, let dtype):
            "tensor '\(tensor)': unknown dtype '\(dtype)' (expected one of \(DType.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .partialByte(let tensor, let dtype, let count):
            "tensor '\(tensor)': \(count) \(dtype) elements do not fill whole bytes; the safetensors reader refuses that"
        case .lengthMismatch(let tensor, let expected, let actual):
            "tensor '\(tensor)': shape and dtype need \(expected) bytes but data_offsets span \(actual)"
        case .emptyShapeTooLarge(let tensor, let shape):
            "tensor '\(tensor)': shape \(shape) has no elements but dimensions too large for ckptforget to compute with (the safetensors reader accepts it; ckptforget does not)"
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
