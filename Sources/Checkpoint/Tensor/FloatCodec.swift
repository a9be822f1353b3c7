/// Conversion between stored bytes and decoded values for the editable dtypes.
///
/// Half and bfloat16 round to nearest, ties to even, as IEEE 754 and PyTorch do; NaN stays NaN
/// and infinities stay infinite. Everything else is a plain (possibly byte-swapped) copy.
public enum FloatCodec {
    /// bfloat16 bits → Float: the upper half of a float32.
    @inlinable
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    /// Float → bfloat16 bits, rounding to nearest even; NaNs become a quiet NaN of the same sign.
    @inlinable
    public static func bfloat16(from value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let roundingBias = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ roundingBias) >> 16)
    }

    /// Half bits → Float (exact).
    @inlinable
    public static func float(fromHalf bits: UInt16) -> Float {
        Float(Float16(bitPattern: bits))
    }

    /// Float → half bits, rounding to nearest even (Swift's `Float16.init` rounds so).
    @inlinable
    public static func half(from value: Float) -> UInt16 {
        Float16(value).bitPattern
    }

    /// Bytes as floats, each Float(byte) × `scale` (exactly Float(byte) when `scale` is 1): data
    /// stored as bytes (MNIST's images) widened where it is read or picked.
    public static func widened(_ bytes: [UInt8], scale: Float = 1) -> [Float] {
        bytes.withUnsafeBufferPointer { b in
            [Float](unsafeUninitializedCapacity: b.count) { v, initialized in
                if scale == 1 {
                    for i in 0..<b.count { v[i] = Float(b[i]) }
                } else {
                    for i in 0..<b.count { v[i] = Float(b[i]) * scale }
                }
                initialized = b.count
            }
        }
    }

    /// Decodes `bytes` (exactly `info.byteCount` of them) into values.
    public static func decode(_ bytes: UnsafeRawBufferPointer, as info: TensorInfo) -> TensorValues {
        precondition(bytes.count == info.byteCount && info.dtype.isEditable)
        let n = info.count
        let swap = info.byteOrder == .big
        switch info.dtype {
        case .float32:
            return .float32([Float](unsafeUninitializedCapacity: n) { out, initialized in
                if n > 0 { out.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: n * 4) { $0.update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n * 4) } }
                if swap { for i in 0..<n { out[i] = Float(bitPattern: out[i].bitPattern.byteSwapped) } }
                initialized = n
            })
        case .float64:
            return .float64([Double](unsafeUninitializedCapacity: n) { out, initialized in
                if n > 0 { out.baseAddress!.withMemoryRebound(to: UInt8.self, capacity: n * 8) { $0.update(from: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: n * 8) } }
                if swap { for i in 0..<n { out[i] = Double(bitPattern: out[i].bitPattern.byteSwapped) } }
                initialized = n
            })
        case .float16, .bfloat16:
            let half = info.dtype == .float16
            return .float32([Float](unsafeUninitializedCapacity: n) { out, initialized in
                for i in 0..<n {
                    var bits = bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    if swap { bits = bits.byteSwapped }
                    out[i] = half ? float(fromHalf: bits) : float(fromBFloat16: bits)
                }
                initialized = n
            })
        default:
            preconditionFailure("\(info.dtype) is not editable")
        }
    }

    /// Calls `body` with `values` encoded in the stored dtype and byte order of `info`. Little-endian
    /// float32 and float64 are handed over without a copy, so writing a tensor needs no second buffer.
    public static func withEncodedBytes<R>(_ values: TensorValues, as info: TensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch (info.dtype, info.byteOrder, values) {
        case (.float32, .little, .float32(let v)): return try v.withUnsafeBytes(body)
        case (.float64, .little, .float64(let v)): return try v.withUnsafeBytes(body)
        default: return try encode(values, as: info).withUnsafeBytes(body)
        }
    }

    /// Encodes `values` in the stored dtype and byte order of `info`.
    public static func encode(_ values: TensorValues, as info: TensorInfo) -> [UInt8] {
        precondition(values.count == info.count && info.dtype.isEditable)
        let swap = info.byteOrder == .big
        var out = [UInt8](repeating: 0, count: info.byteCount)
        out.withUnsafeMutableBytes { raw in
            switch (info.dtype, values) {
            case (.float32, .float32(let v)):
                for (i, x) in v.enumerated() { raw.storeBytes(of: swap ? x.bitPattern.byteSwapped : x.bitPattern, toByteOffset: 4 * i, as: UInt32.self) }
            case (.float64, .float64(let v)):
                for (i, x) in v.enumerated() { raw.storeBytes(of: swap ? x.bitPattern.byteSwapped : x.bitPattern, toByteOffset: 8 * i, as: UInt64.self) }
            case (.float16, .float32(let v)), (.bfloat16, .float32(let v)):
                let half = info.dtype == .float16
                for (i, x) in v.enumerated() {
                    let bits = half ? FloatCodec.half(from: x) : bfloat16(from: x)
                    raw.storeBytes(of: swap ? bits.byteSwapped : bits, toByteOffset: 2 * i, as: UInt16.self)
                }
            default:
                preconditionFailure("tensor \(info.name): \(info.dtype) cannot hold these values")
            }
        }
        return out
    }
}
