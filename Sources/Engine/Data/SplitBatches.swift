import Foundation

/// The samples of a split read in batches of a fixed size, in file order, scaled: memory stays
/// bounded by a few batches whatever the size of the set, and the batches do not depend on the
/// number of threads, so neither do results computed batch by batch.
struct SplitBatches {
    let data: any LabeledData
    let split: Split
    /// Multiplies every input value.
    let scale: Float

    /// The cores batches run on (Dispatch runs them; OpenBLAS single-threaded inside each).
    static let workers = max(1, min(ProcessInfo.processInfo.activeProcessorCount, 16))

    /// Calls `body` with consecutive batches of `size` samples (the last may be smaller): their
    /// values row by row, their labels, and the position of the first in the split.
    func forEach(size: Int, _ body: (_ x: [Float], _ labels: [Int], _ first: Int) throws -> Void) throws {
        let width = data.sampleShape.reduce(1, *)
        var carryX: [Float] = [], carryY: [Int] = []  // fewer than `size` samples left from earlier chunks
        var cursor = 0, emitted = 0
        func emit(_ x: [Float], _ y: [Int]) throws {
            try body(x, y, emitted)
            emitted += y.count
        }
        while cursor < split.indices.count {
            // The contiguous file range holding the next indices, at most 4096 rows long.
            let first = split.indices[cursor]
            var last = cursor
            while last + 1 < split.indices.count, split.indices[last + 1] - first < 4096 { last += 1 }
            var (x, y) = try data.batch(first..<(split.indices[last] + 1))
            if split.indices[last] - first != last - cursor {  // not every row of the range: gather the selected
                var (selectedX, selectedY): ([Float], [Int]) = ([], [])
                selectedX.reserveCapacity((last - cursor + 1) * width)
                for index in split.indices[cursor...last] {
                    let row = index - first
                    selectedX.append(contentsOf: x[(row * width)..<((row + 1) * width)])
                    selectedY.append(y[row])
                }
                (x, y) = (selectedX, selectedY)
            }
            if scale != 1 { x.withUnsafeMutableBufferPointer { v in for i in v.indices { v[i] *= scale } } }
            cursor = last + 1
            // Complete the carried batch first, then hand out whole batches, and carry the rest.
            var next = 0
            if !carryY.isEmpty {
                next = min(size - carryY.count, y.count)
                carryX += x[0..<(next * width)]
                carryY += y[0..<next]
                if carryY.count == size {
                    try emit(carryX, carryY)
                    (carryX, carryY) = ([], [])
                }
            }
            while y.count - next >= size {
                try emit(Array(x[(next * width)..<((next + size) * width)]), Array(y[next..<(next + size)]))
                next += size
            }
            if next < y.count { (carryX, carryY) = (Array(x[(next * width)...]), Array(y[next...])) }
        }
        if !carryY.isEmpty { try emit(carryX, carryY) }
    }

    /// Runs `work` on the batches on all cores, two per core in flight at a time (so memory stays
    /// bounded), and hands the results to `combine` in file order.
    func concurrent<T: Sendable>(size: Int, _ work: @escaping @Sendable (_ x: [Float], _ labels: [Int], _ first: Int) -> T,
                                 combine: (T) throws -> Void) throws {
        _ = AllocatorTuning.applied
        var group: [([Float], [Int], Int)] = []
        func drain() throws {
            let batches = group, slots = Slots<T>(batches.count)
            DispatchQueue.concurrentPerform(iterations: batches.count) { i in slots.base[i] = work(batches[i].0, batches[i].1, batches[i].2) }
            group.removeAll(keepingCapacity: true)
            for i in 0..<batches.count { try combine(slots.base[i]!) }
        }
        try forEach(size: size) { x, y, first in
            group.append((x, y, first))
            if group.count == 2 * Self.workers { try drain() }
        }
        try drain()
    }
}

/// Results of concurrent iterations, one slot each: every slot is written by exactly one iteration
/// and read only after all have finished, which is why sharing it is safe.
final class Slots<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T?>
    let count: Int

    init(_ count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        base.initialize(repeating: nil, count: count)
    }

    deinit {
        base.deinitialize(count: count)
        base.deallocate()
    }
}
