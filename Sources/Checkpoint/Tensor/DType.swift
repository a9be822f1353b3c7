/// The element type of a stored tensor, named as safetensors names it.
///
/// Only the floating types are ever edited; integer, boolean and 8-bit float tensors are
/// copied through untouched.
public enum DType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case uint8 = "U8", int8 = "I8"
    case uint16 = "U16", int16 = "I16"
    case uint32 = "U32", int32 = "I32"
    case uint64 = "U64", int64 = "I64"
    case float8e4m3 = "F8_E4M3", float8e5m2 = "F8_E5M2"
    case float16 = "F16", bfloat16 = "BF16", float32 = "F32", float64 = "F64"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .bool, .uint8, .int8, .float8e4m3, .float8e5m2: 1
        case .uint16, .int16, .float16, .bfloat16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64: 8
        }
    }

    /// Whether passes may edit tensors of this type (computed in float32 or float64, written back as stored).
    public var isEditable: Bool {
        switch self {
        case .float16, .bfloat16, .float32, .float64: true
        default: false
        }
    }

    /// Lower-case name for tables (`f32`, `bf16`, `i64`).
    public var shortName: String {
        switch self {
        case .bool: "bool"
        case .uint8: "u8"
        case .int8: "i8"
        case .uint16: "u16"
        case .int16: "i16"
        case .uint32: "u32"
        case .int32: "i32"
        case .uint64: "u64"
        case .int64: "i64"
        case .float8e4m3: "f8e4m3"
        case .float8e5m2: "f8e5m2"
        case .float16: "f16"
        case .bfloat16: "bf16"
        case .float32: "f32"
        case .float64: "f64"
        }
    }
}

/// Byte order of stored elements. safetensors is always little-endian; HDF5 datasets say which.
public enum ByteOrder: Sendable {
    case little, big
}
