import Checkpoint

/// Keeps, in one scan, every value that can still be among the `limit` largest of a stream of
/// non-negative numbers, with its flat index: fewer than 2·`limit` of them, the values under the
/// `limit`-th largest seen so far dropped whenever the store fills. What `LargestValueSelector`
/// finds in two scans, for a `limit` small beside the stream (prune's `top=1%`), whose second
/// scan read the `--pre` snapshot again. Many values tied at the cut can keep the store from
/// shrinking: then it gives up (`isOverflowing`) and the caller scans twice after all.
final class TopValueCollector {
    let limit: Int
    /// Values under it can no longer be among the `limit` largest.
    private(set) var cutoff = 0.0
    private(set) var isOverflowing = false
    /// The store: `count` indices and values, in index order; room for 2·`limit` and a block of 8
    /// written before it is known which of them stay.
    private let storedIndices: UnsafeMutablePointer<Int>
    private let storedValues: UnsafeMutablePointer<Double>
    private let scratch: UnsafeMutablePointer<Double>
    private var count = 0

    init(limit: Int) {
        precondition(limit >= 1)
        self.limit = limit
        storedIndices = .allocate(capacity: 2 * limit + 8)
        storedValues = .allocate(capacity: 2 * limit + 8)
        scratch = .allocate(capacity: 2 * limit + 8)
    }

    deinit {
        storedIndices.deallocate()
        storedValues.deallocate()
        scratch.deallocate()
    }

    /// The flat indices kept, ascending, and their values.
    var indices: [Int] { Array(UnsafeBufferPointer(start: storedIndices, count: count)) }
    var values: [Double] { Array(UnsafeBufferPointer(start: storedValues, count: count)) }

    /// Offers the value at flat index `index`; indices come in ascending order. NaN is ignored.
    @inline(__always)
    func offer(_ index: Int, _ value: Double) {
        guard value >= cutoff, !isOverflowing else { return }
        storedIndices[count] = index
        storedValues[count] = value
        count += 1
        if count >= 2 * limit { shrink() }
    }

    /// Offers every |ΔW| of `slice` and returns how many were NaN (not offered). For float32,
    /// eight at a time compared with the cutoff; where one of them reaches it, all eight are
    /// written to the store and only those that reach it counted, without a branch an element
    /// (offered one by one, the scan cost 2.8 ns an element on the bench model, more than the two
    /// scans it replaces).
    func offerChanges(of slice: SnapshotSlice) -> Int {
        guard case .float32(let w) = slice.originalValues, case .float32(let p) = slice.preValues else {
            var nan = 0
            slice.forEachDelta { i, delta in
                if delta.isNaN { nan += 1 } else { offer(i, abs(delta)) }
            }
            return nan
        }
        return offerFloat32(w, from: 0, pre: p, range: slice.range)
    }

    /// `offerChanges(of:)` with the input's values read where they are: `values` are the whole
    /// tensor's, `pre` the slice's (a snapshot slice copies them first).
    func offerChanges(inPlace values: TensorValues, pre: TensorValues, range: Range<Int>) -> Int {
        guard case .float32(let w) = values, case .float32(let p) = pre else {
            return offerChanges(of: SnapshotSlice(range: range, originalValues: values.slice(range), preValues: pre))
        }
        return offerFloat32(w, from: range.lowerBound, pre: p, range: range)
    }

    /// The float32 loop of `offerChanges`: element k of `range` is `w[start + k]` and `p[k]`.
    private func offerFloat32(_ w: [Float], from start: Int, pre p: [Float], range: Range<Int>) -> Int {
        var nan = 0
        let low = range.lowerBound
        w.withUnsafeBytes { w in
            p.withUnsafeBytes { p in
                let w = UnsafeRawBufferPointer(rebasing: w[(start * 4)..<((start + range.count) * 4)])
                let elements = range.count
                var k = 0, nans = SIMD8<Int64>(), cutoffs = SIMD8<Double>(repeating: cutoff)
                while k + 8 <= elements, !isOverflowing {
                    let size = SnapshotSlice.changeSizes(w, p, at: k)
                    nans &-= unsafeBitCast(size .!= size, to: SIMD8<Int64>.self)  // a true lane is all ones: -1
                    let reached = size .>= cutoffs  // false for NaN
                    if SnapshotSlice.anyLane(reached) {
                        var n = count  // below 2·limit, so the eight fit
                        for lane in 0..<8 {
                            storedIndices[n] = low + k + lane
                            storedValues[n] = size[lane]
                            n += reached[lane] ? 1 : 0
                        }
                        count = n
                        if count >= 2 * limit {
                            shrink()
                            cutoffs = SIMD8(repeating: cutoff)
                        }
                    }
                    k += 8
                }
                nan += Int(nans.wrappedSum())
                while k < elements {
                    let size = SnapshotSlice.changeSize(w, p, at: k)
                    if size.isNaN { nan += 1 } else { offer(low + k, size) }
                    k += 1
                }
            }
        }
        return nan
    }

    /// Raises the cutoff to (about) the `limit`-th largest value kept and drops what is under it,
    /// in order: for a large store first to the lower edge of a fine bucket of the bit patterns
    /// that holds it (two counting passes; quickselect on every full store was 15 ns a value, a
    /// third of the rewrite thread's time in a `top=1%` run), then, should that leave too many, to the value itself.
    private func shrink() {
        if count >= 4096 { keep(atLeast: bucketedCutoff()) }
        if count > limit + limit / 2 {
            scratch.update(from: storedValues, count: count)
            var selection = UnsafeMutableBufferPointer(start: scratch, count: count)
            keep(atLeast: Self.largest(limit, reordering: &selection))
        }
        // Ties at the cutoff that fill three quarters of the store would make it shrink too often.
        if count > limit + limit / 2 { isOverflowing = true }
    }

    /// Raises the cutoff to `floor` (no lower than it was) and drops the values under it.
    private func keep(atLeast floor: Double) {
        cutoff = max(cutoff, floor)
        var kept = 0
        for k in 0..<count {  // every one copied down, only those that stay counted: no branch
            let (index, stored) = (storedIndices[k], storedValues[k])
            storedIndices[kept] = index
            storedValues[kept] = stored
            kept += stored >= cutoff ? 1 : 0
        }
        count = kept
    }

    /// A value no greater than the `limit`-th largest kept: the least of the 2^22 buckets, by the
    /// exponent and then the top 11 bits of the significand (which order non-negative doubles),
    /// that holds it. Every value is a bucket's lower edge or above it, so nothing over the
    /// `limit`-th largest is below it.
    private func bucketedCutoff() -> Double {
        var counts = [Int](repeating: 0, count: 2049)
        var above = 0, exponent = 2047, top = 2047
        counts.withUnsafeMutableBufferPointer { counts in
            for k in 0..<count { counts[Int(storedValues[k].bitPattern >> 52)] += 1 }  // the sign bit is 0
            while above + counts[exponent] < limit {
                above += counts[exponent]
                exponent -= 1
            }
            for bucket in counts.indices { counts[bucket] = 0 }
            // Values of other exponents are counted in a bucket of their own, past the 2048: a
            // branch on the exponent was mispredicted for about every other value.
            for k in 0..<count {
                let bits = storedValues[k].bitPattern
                counts[Int(bits >> 52) == exponent ? Int(truncatingIfNeeded: bits >> 41) & 0x7ff : 2048] += 1
            }
            while above + counts[top] < limit {
                above += counts[top]
                top -= 1
            }
        }
        return Double(bitPattern: UInt64(exponent) << 52 | UInt64(top) << 41)
    }

    /// The `k`-th largest (k ≥ 1) of the values kept, nil when fewer were kept.
    func largest(_ k: Int) -> Double? {
        guard k >= 1, k <= count else { return nil }
        scratch.update(from: storedValues, count: count)
        var selection = UnsafeMutableBufferPointer(start: scratch, count: count)
        return Self.largest(k, reordering: &selection)
    }

    /// The flat indices kept whose values are at least `threshold`, ascending.
    func indices(atLeast threshold: Double) -> [Int] {
        (0..<count).filter { storedValues[$0] >= threshold }.map { storedIndices[$0] }
    }

    /// The `k`-th largest (1 ≤ k ≤ count) of `values`, none of them NaN, found by quickselect
    /// (Hoare's partition around a median of three), which reorders them; a range that has not
    /// narrowed after 64 partitions is sorted instead. A sort of every full store cost more than
    /// the scan itself (80 sorts of 335,000 values for `top=1%` on the 1 GiB bench model).
    static func largest(_ k: Int, reordering v: inout UnsafeMutableBufferPointer<Double>) -> Double {
        precondition(k >= 1 && k <= v.count, "k = \(k) of \(v.count) values")
        let target = v.count - k  // its place in ascending order
        var (low, high, partitions) = (0, v.count - 1, 0)
        while low < high {
            partitions += 1
            guard partitions <= 64 else {
                var rest = UnsafeMutableBufferPointer(rebasing: v[low...high])
                rest.sort()
                break
            }
            let middle = low + (high - low) / 2
            if v[middle] < v[low] { v.swapAt(middle, low) }
            if v[high] < v[low] { v.swapAt(high, low) }
            if v[high] < v[middle] { v.swapAt(high, middle) }
            let pivot = v[middle]
            var (i, j) = (low, high)
            while i <= j {
                while v[i] < pivot { i += 1 }
                while v[j] > pivot { j -= 1 }
                if i <= j {
                    v.swapAt(i, j)
                    i += 1
                    j -= 1
                }
            }
            // Now v[low...j] ≤ pivot ≤ v[i...high], and what lies between them equals the pivot.
            if target <= j { high = j } else if target >= i { low = i } else { break }
        }
        return v[target]
    }
}
