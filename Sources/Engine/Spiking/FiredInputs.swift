/// The inputs that fired in one row of spikes (one step of one sample), as the sparse synapses
/// read them: their positions in ascending order and their values, found eight inputs at a time
/// without a branch per input. One buffer serves every row of a synapse call; it owns its memory.
struct FiredInputs: ~Copyable {
    /// How many inputs fired: `positions[0..<count]` are theirs, and so are `values[0..<count]`
    /// unless `allOnes` (then they need not be listed).
    private(set) var count = 0
    /// Whether every input that fired is exactly 1, so its weights are added without a product.
    private(set) var allOnes = true
    let positions: UnsafeMutablePointer<Int32>
    let values: UnsafeMutablePointer<Float>
    /// Inputs per row (at most 2²⁸, so every position fits an Int32).
    let width: Int
    private let packed = FiredInputs.packedPositions

    init(width: Int) {
        self.width = width
        positions = .allocate(capacity: width)
        values = .allocate(capacity: width)
    }

    deinit {
        positions.deallocate()
        values.deallocate()
    }

    /// The inputs of `row` (`width` floats) that are not 0: −0 is not a spike, NaN is (as `!= 0`
    /// says).
    mutating func gather(_ row: UnsafePointer<Float>) {
        let lowBits = SIMD4<Int32>(1, 2, 4, 8), highBits = SIMD4<Int32>(16, 32, 64, 128), none = SIMD4<Int32>(repeating: 0)
        var n = 0, i = 0
        packed.withUnsafeBufferPointer { packed in
            let out = UnsafeMutableRawPointer(positions)
            while i &+ 8 <= width {
                let low = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD4<Float>.self)
                let high = UnsafeRawPointer(row + (i &+ 4)).loadUnaligned(as: SIMD4<Float>.self)
                let mask = Int((none.replacing(with: lowBits, where: low .!= 0) | none.replacing(with: highBits, where: high .!= 0)).wrappedSum())
                // Eight positions are written; the next block overwrites those past the count.
                // n ≤ i, so they end at i + 8 ≤ width.
                out.storeBytes(of: packed[mask] &+ Int32(truncatingIfNeeded: i), toByteOffset: n &* 4, as: SIMD8<Int32>.self)
                n &+= mask.nonzeroBitCount
                i &+= 8
            }
        }
        while i < width {
            positions[n] = Int32(truncatingIfNeeded: i)
            n &+= row[i] != 0 ? 1 : 0
            i &+= 1
        }
        var ones = true
        for k in 0..<n {
            let value = row[Int(positions[k])]
            values[k] = value
            if value != 1 { ones = false }
        }
        (count, allOnes) = (n, ones)
    }

    /// The inputs of `row` (`width` bytes, each worth Float(byte) × `scale`, as the float path
    /// would hold them) whose value is not 0: with a finite `scale`, the bytes that are not 0, or
    /// none when `scale` is 0.
    mutating func gather(_ row: UnsafePointer<UInt8>, scale: Float) {
        guard scale != 0 else {
            (count, allOnes) = (0, true)
            return
        }
        var n = 0, i = 0
        var aboveOne: UInt64 = 0  // a bit of every byte above 1
        packed.withUnsafeBufferPointer { packed in
            let out = UnsafeMutableRawPointer(positions)
            while i &+ 8 <= width {
                let word = UInt64(littleEndian: UnsafeRawPointer(row + i).loadUnaligned(as: UInt64.self))
                aboveOne |= word & 0xFEFE_FEFE_FEFE_FEFE
                // The high bit of every byte that is not 0, then those eight bits moved into the
                // top byte (bit k for byte k) by one product, whose partial products never overlap.
                let high = ((word & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7F7F_7F7F_7F7F_7F7F | word) & 0x8080_8080_8080_8080
                let mask = Int(truncatingIfNeeded: ((high >> 7) &* 0x0102_0408_1020_4080) >> 56)
                out.storeBytes(of: packed[mask] &+ Int32(truncatingIfNeeded: i), toByteOffset: n &* 4, as: SIMD8<Int32>.self)
                n &+= mask.nonzeroBitCount
                i &+= 8
            }
        }
        while i < width {
            positions[n] = Int32(truncatingIfNeeded: i)
            n &+= row[i] != 0 ? 1 : 0
            aboveOne |= UInt64(row[i] & 0xFE)
            i &+= 1
        }
        // Unscaled bytes of 0 and 1 only: every input that fired is 1, no value to list.
        if scale == 1 && aboveOne == 0 {
            (count, allOnes) = (n, true)
            return
        }
        var ones = true
        for k in 0..<n {
            let value = Float(row[Int(positions[k])]) * scale
            values[k] = value
            if value != 1 { ones = false }
        }
        (count, allOnes) = (n, ones)
    }

    /// For each 8-bit mask, the positions of its set bits in ascending order, packed first.
    private static let packedPositions: [SIMD8<Int32>] = (0..<256).map { mask in
        var positions = SIMD8<Int32>(repeating: 0), k = 0
        for bit in 0..<8 where mask & (1 << bit) != 0 {
            positions[k] = Int32(bit)
            k += 1
        }
        return positions
    }
}
