import Checkpoint

/// A companion as large as the tensor it serves (its `--pre` snapshot, a Fisher diagonal), read a
/// slice at a time: a pass holds the slice it works on, not a second and third copy of the tensor.
/// Files that cannot read part of a tensor (a strided view in a `.pt` storage) are read whole once
/// and sliced in memory.
///
/// `@unchecked Sendable`: the files it reads from are classes; a companion is read only on the
/// thread that runs the pass it was loaded for.
public struct CompanionTensor: @unchecked Sendable {
    /// Elements, as in the tensor it serves.
    public let count: Int
    private let reader: (Range<Int>) throws -> TensorValues

    /// Values already in memory.
    public init(_ values: TensorValues) {
        self.init(count: values.count) { values.slice($0) }
    }

    /// `info` in `file`, read slice by slice where the file can (else whole, once).
    init(file: any CheckpointFile, info: TensorInfo) throws {
        if file.readsSlices {
            self.init(count: info.count) { try file.read(info, elements: $0) }
        } else {
            self.init(try file.read(info).values)
        }
    }

    /// Entry `name` of a statistics source, of `count` elements.
    init(statistics: any StatisticsSource, name: String, count: Int) {
        self.init(count: count) { try statistics.read(name, elements: $0) }
    }

    private init(count: Int, reader: @escaping (Range<Int>) throws -> TensorValues) {
        self.count = count
        self.reader = reader
    }

    /// The values at flat indices `range`.
    public func slice(_ range: Range<Int>) throws -> TensorValues {
        let values = try reader(range)
        precondition(values.count == range.count, "companion slice \(range): \(values.count) values")
        return values
    }
}

/// One slice of a tensor's snapshot companions: the input's values and the `--pre` snapshot's over
/// `range`, indexed by flat tensor index.
public struct SnapshotSlice {
    public let range: Range<Int>
    public let originalValues: TensorValues
    public let preValues: TensorValues

    /// The input's value at flat index `i` (in `range`), widened to Double.
    @inlinable public func original(_ i: Int) -> Double { originalValues[i - range.lowerBound] }
    /// The `--pre` snapshot's value at flat index `i`.
    @inlinable public func pre(_ i: Int) -> Double { preValues[i - range.lowerBound] }
    /// ΔW at flat index `i`: the input's value minus the `--pre` snapshot's, in Double.
    @inlinable public func delta(_ i: Int) -> Double { original(i) - pre(i) }

    /// Calls `body` with every flat index of `range` and its ΔW (the same Double as `delta`), in
    /// order. The two arrays' precisions are looked at once, not at every element as `delta` does:
    /// the scans of prune and revert run a tight loop over two arrays.
    @inlinable
    public func forEachDelta(_ body: (Int, Double) throws -> Void) rethrows {
        let low = range.lowerBound
        switch (originalValues, preValues) {
        case (.float32(let w), .float32(let p)):
            for k in w.indices { try body(low + k, Double(w[k]) - Double(p[k])) }
        case (.float64(let w), .float64(let p)):
            for k in w.indices { try body(low + k, w[k] - p[k]) }
        default:
            for i in range { try body(i, delta(i)) }
        }
    }
}

extension SnapshotSlice {
    /// |ΔW| of the eight float32 pairs from element `k` of two buffers of float32 (the input's
    /// values and the snapshot's), in Double as `delta` gives it; a NaN change stays NaN.
    @inline(__always)
    static func changeSizes(_ w: UnsafeRawBufferPointer, _ p: UnsafeRawBufferPointer, at k: Int) -> SIMD8<Double> {
        let difference = SIMD8<Double>(w.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
            - SIMD8<Double>(p.loadUnaligned(fromByteOffset: k * 4, as: SIMD8<Float>.self))
        return unsafeBitCast(unsafeBitCast(difference, to: SIMD8<UInt64>.self) & SIMD8(repeating: 0x7fff_ffff_ffff_ffff), to: SIMD8<Double>.self)
    }

    /// Whether any lane of a mask of `changeSizes` is set: the lanes OR-ed together in halves.
    /// The standard library's `any` took each 64-bit lane to a general register on the baseline
    /// x86-64 target (no 64-bit compares or `ptest` in SSE2).
    @inline(__always)
    static func anyLane(_ mask: SIMDMask<SIMD8<Int64>>) -> Bool {
        let lanes = unsafeBitCast(mask, to: SIMD8<Int64>.self)
        let four = lanes.lowHalf | lanes.highHalf, two = four.lowHalf | four.highHalf
        return two[0] | two[1] != 0
    }

    /// |ΔW| of element `k` alone, as `changeSizes` gives it.
    @inline(__always)
    static func changeSize(_ w: UnsafeRawBufferPointer, _ p: UnsafeRawBufferPointer, at k: Int) -> Double {
        abs(Double(w.load(fromByteOffset: k * 4, as: Float.self)) - Double(p.load(fromByteOffset: k * 4, as: Float.self)))
    }

    /// The flat indices of `range` whose |ΔW| is over `threshold` (a NaN change never is), in
    /// order: for float32, eight compared at a time and written without a branch (revert's scan
    /// through `forEachDelta` and an append an element was a third of its rewrite thread).
    public func indices(whereChangeExceeds threshold: Double) -> [Int] {
        guard case .float32(let w) = originalValues, case .float32(let p) = preValues else {
            var found: [Int] = []
            forEachDelta { i, delta in
                if abs(delta) > threshold { found.append(i) }
            }
            return found
        }
        let low = range.lowerBound
        return [Int](unsafeUninitializedCapacity: w.count + 8) { found, written in
            w.withUnsafeBytes { w in
                p.withUnsafeBytes { p in
                    let count = w.count / 4, thresholds = SIMD8<Double>(repeating: threshold)
                    var (k, n) = (0, 0)
                    while k + 8 <= count {
                        let over = Self.changeSizes(w, p, at: k) .> thresholds
                        if Self.anyLane(over) {
                            for lane in 0..<8 {
                                found[n] = low + k + lane
                                n += over[lane] ? 1 : 0
                            }
                        }
                        k += 8
                    }
                    while k < count {
                        if Self.changeSize(w, p, at: k) > threshold {
                            found[n] = low + k
                            n += 1
                        }
                        k += 1
                    }
                    written = n
                }
            }
        }
    }
}

extension Companions {
    /// Elements a pass takes from its companions at a time: 256 Ki (1 MiB of float32), small beside
    /// the tensors that are worth slicing, large enough that a read per slice costs nothing.
    public static let standardSliceSize = 1 << 18

    /// Consecutive ranges of at most `sliceSize` elements covering `0..<count`, in order.
    public func slices(of count: Int) -> [Range<Int>] {
        stride(from: 0, to: count, by: sliceSize).map { $0..<min($0 + sliceSize, count) }
    }

    /// The snapshot slice `range` of `tensor`, the tensor being edited. Where `original` is nil no
    /// pass before this one changed the tensor, so its own values are the input's: take the slice
    /// before editing the range.
    public func snapshot(_ range: Range<Int>, of tensor: Tensor) throws -> SnapshotSlice {
        guard let pre else { preconditionFailure("a pass without --pre asked for ΔW of \(tensor.name)") }
        return SnapshotSlice(range: range, originalValues: (original ?? tensor.values).slice(range), preValues: try pre.slice(range))
    }

    /// Calls `body` with every flat index of `tensor` and its ΔW, in order, a slice at a time.
    public func forEachDelta(of tensor: Tensor, _ body: (Int, Double) throws -> Void) throws {
        for range in slices(of: tensor.values.count) {
            try snapshot(range, of: tensor).forEachDelta(body)
        }
    }
}
