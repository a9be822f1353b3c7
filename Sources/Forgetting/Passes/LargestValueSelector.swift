import Checkpoint

/// Finds the k-th largest of many non-negative numbers without holding them all: a histogram over
/// the top 20 bits of their IEEE patterns (which order non-negative doubles), then an exact pick
/// among the values in the one bucket that holds the k-th. Two scans of the data, bounded memory.
struct LargestValueSelector {
    private var counts = [Int](repeating: 0, count: 1 << 20)
    private(set) var total = 0

    static func bucket(_ x: Double) -> Int { Int(truncatingIfNeeded: x.bitPattern >> 44) }

    /// First scan: every |ΔW| of `tensor` (NaNs are ignored), a snapshot slice at a time, each in
    /// one loop over its arrays with the counts' storage taken once for the slice.
    mutating func count(deltasOf tensor: Tensor, in companions: Companions) throws {
        for range in companions.slices(of: tensor.values.count) {
            let slice = try companions.snapshot(range, of: tensor)
            total += counts.withUnsafeMutableBufferPointer { counts in
                var added = 0  // here, not outside: a variable two closures deep lives in memory
                slice.forEachDelta { _, delta in
                    let size = abs(delta)
                    guard !size.isNaN else { return }
                    counts[Self.bucket(size)] += 1  // below 2^20: the sign bit of |ΔW| is 0
                    added += 1
                }
                return added
            }
        }
    }

    /// The bucket holding the k-th largest (k ≥ 1) and that value's rank among the bucket's values.
    func locate(_ k: Int) -> (bucket: Int, rank: Int)? {
        guard k >= 1, k <= total else { return nil }
        var above = 0
        for bucket in counts.indices.reversed() where counts[bucket] > 0 {
            if above + counts[bucket] >= k { return (bucket, k - above) }
            above += counts[bucket]
        }
        return nil
    }

    /// Second scan: the k-th largest among `values` (all the values counted, in any order).
    static func pick<S: Sequence<Double>>(_ location: (bucket: Int, rank: Int), from values: S) -> Double {
        let inBucket = values.filter { !$0.isNaN && bucket($0) == location.bucket }.sorted(by: >)
        return inBucket[location.rank - 1]
    }
}
