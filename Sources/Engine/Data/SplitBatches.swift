import Checkpoint
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
    /// values row by row, scaled, their labels, and the position of the first in the split.
    /// Samples stored as bytes are read and picked as bytes, and only the split's are widened.
    func forEach(size: Int, _ body: (_ x: [Float], _ labels: [Int], _ first: Int) throws -> Void) throws {
        guard let bytes = data as? any ByteData, bytes.holdsBytes else {
            return try forEach(size: size, read: data.batch, adjust: scaleValues, body)
        }
        let scale = scale
        try forEach(size: size, read: bytes.byteBatch, adjust: { _ in }) { x, labels, first in
            try body(FloatCodec.widened(x, scale: scale), labels, first)
        }
    }

    /// Runs `work` on the batches (scaled floats) on all cores and hands the results to `combine`
    /// in file order (bytes widened on the cores, as in `forEach`).
    func concurrent<T: Sendable>(size: Int, _ work: @escaping @Sendable (_ x: [Float], _ labels: [Int], _ first: Int) -> T,
                                 combine: (T) throws -> Void) throws {
        guard let bytes = data as? any ByteData, bytes.holdsBytes else {
            return try concurrent(size: size, read: data.batch, adjust: scaleValues, work, combine: combine)
        }
        let scale = scale
        try concurrent(size: size, read: bytes.byteBatch, adjust: { _ in }, { x, labels, first in
            work(FloatCodec.widened(x, scale: scale), labels, first)
        }, combine: combine)
    }

    /// Multiplies every value by `scale` (unless it is 1).
    private func scaleValues(_ x: inout [Float]) {
        guard scale != 1 else { return }
        x.withUnsafeMutableBufferPointer { v in for i in v.indices { v[i] *= scale } }
    }

    /// `forEach` on the values `read` returns for a range of the data's samples (row-major, one
    /// sample after another), each chunk passed through `adjust` once the split's samples are picked
    /// from it.
    func forEach<Value>(size: Int, read: (Range<Int>) throws -> (x: [Value], y: [Int]), adjust: (inout [Value]) -> Void,
                        _ body: (_ x: [Value], _ labels: [Int], _ first: Int) throws -> Void) throws {
        let width = data.sampleShape.reduce(1, *)
        var carryX: [Value] = [], carryY: [Int] = []  // fewer than `size` samples left from earlier chunks
        var cursor = 0, emitted = 0
        func emit(_ x: [Value], _ y: [Int]) throws {
            try body(x, y, emitted)
            emitted += y.count
        }
        while cursor < split.indices.count {
            // The contiguous file range holding the next indices, at most 4096 rows long.
            let first = split.indices[cursor]
            var last = cursor
            while last + 1 < split.indices.count, split.indices[last + 1] - first < 4096 { last += 1 }
            var (x, y) = try read(first..<(split.indices[last] + 1))
            if split.indices[last] - first != last - cursor {  // not every row of the range: gather the selected
                var (selectedX, selectedY): ([Value], [Int]) = ([], [])
                selectedX.reserveCapacity((last - cursor + 1) * width)
                for index in split.indices[cursor...last] {
                    let row = index - first
                    selectedX.append(contentsOf: x[(row * width)..<((row + 1) * width)])
                    selectedY.append(y[row])
                }
                (x, y) = (selectedX, selectedY)
            }
            adjust(&x)
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

    /// `concurrent` on the values `read` returns (see the generic `forEach`): `work` runs on all
    /// cores, two batches per core in flight at a time (so memory stays bounded), and `combine`
    /// gets the results in file order.
    func concurrent<Value: Sendable, T: Sendable>(size: Int, read: (Range<Int>) throws -> (x: [Value], y: [Int]),
                                                  adjust: (inout [Value]) -> Void,
                                                  _ work: @escaping @Sendable (_ x: [Value], _ labels: [Int], _ first: Int) -> T,
                                                  combine: (T) throws -> Void) throws {
        _ = AllocatorTuning.applied
        var group: [([Value], [Int], Int)] = []
        func drain() throws {
            let batches = group, slots = Slots<T>(batches.count)
            DispatchQueue.concurrentPerform(iterations: batches.count) { i in slots.base[i] = work(batches[i].0, batches[i].1, batches[i].2) }
            group.removeAll(keepingCapacity: true)
            for i in 0..<batches.count { try combine(slots.base[i]!) }
        }
        try forEach(size: size, read: read, adjust: adjust) { x, y, first in
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
