/// The element type of a stored tensor, named as safetensors names it.
///
/// Every dtype the reference safetensors reader (0.8.0) knows is here, so that any file it reads,
/// ckptforget reads too. Only the floating types with a standard arithmetic (f16, bf16, f32, f64) are
/// ever edited; integer, boolean, complex, 8-bit and smaller float tensors are copied through untouched.
public enum DType: String, Sendable, CaseIterable, Codable {
    case bool = "BOOL"
    case uint8 = "U8", int8 = "I8"
    case uint16 = "U16", int16 = "I16"
    case uint32 = "U32", int32 = "I32"
    case uint64 = "U64", int64 = "I64"
    case float4 = "F4", float6e2m3 = "F6_E2M3", float6e3m2 = "F6_E3M2"
    case float8e4m3 = "F8_E4M3", float8e5m2 = "F8_E5M2", float8e8m0 = "F8_E8M0"
    case float8e4m3fnuz = "F8_E4M3FNUZ", float8e5m2fnuz = "F8_E5M2FNUZ"
    case float16 = "F16", bfloat16 = "BF16", float32 = "F32", float64 = "F64"
    /// complex64: two float32 parts, real first.
    case complex64 = "C64"

    /// Bits per element: the microscaling floats (F4, F6_*) take less than a byte, so a tensor of
    /// them must fill whole bytes (the reference reader refuses one that does not).
    public var bits: Int {
        switch self {
        case .float4: 4
        case .float6e2m3, .float6e3m2: 6
        case .bool, .uint8, .int8, .float8e4m3, .float8e5m2, .float8e8m0, .float8e4m3fnuz, .float8e5m2fnuz: 8
        case .uint16, .int16, .float16, .bfloat16: 16
        case .uint32, .int32, .float32: 32
        case .uint64, .int64, .float64, .complex64: 64
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
        case .float4: "f4"
        case .float6e2m3: "f6e2m3"
        case .float6e3m2: "f6e3m2"
        case .float8e4m3: "f8e4m3"
        case .float8e5m2: "f8e5m2"
        case .float8e8m0: "f8e8m0"
        case .float8e4m3fnuz: "f8e4m3fnuz"
        case .float8e5m2fnuz: "f8e5m2fnuz"
        case .float16: "f16"
        case .bfloat16: "bf16"
        case .float32: "f32"
        case .float64: "f64"
        case .complex64: "c64"
        }
    }
}

/// Byte order of stored elements. safetensors is always little-endian; HDF5 datasets say which.
public enum ByteOrder: Sendable {
    case little, big
}
