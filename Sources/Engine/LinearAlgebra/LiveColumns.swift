/// The columns of a row-major matrix that are not zero in every row, when enough columns are zero
/// throughout that multiplying by the others alone pays: a zero column adds nothing to a product.
/// Images with blank borders are like this (a batch of 256 MNIST digits has about 250 of its 784
/// pixels zero in every image), and so are one-hot features and ReLU units silent on a batch.
struct LiveColumns {
    /// Consecutive live columns as (first column, count), in order.
    let runs: [(start: Int, count: Int)]
    /// Live columns in all.
    let count: Int
    let width: Int

    /// nil unless more than an eighth of the columns are zero throughout.
    init?(_ matrix: [Float], width: Int) {
        // A column is zero throughout when the OR of its entries' bits, sign aside, is 0 (NaN is live).
        var bits = [UInt32](repeating: 0, count: width)
        matrix.withUnsafeBufferPointer { m in
            m.withMemoryRebound(to: UInt32.self) { m in
                bits.withUnsafeMutableBufferPointer { any in
                    for row in stride(from: 0, to: m.count, by: width) {
                        for j in 0..<width { any[j] |= m[row &+ j] }
                    }
                }
            }
        }
        var runs: [(start: Int, count: Int)] = [], live = 0
        for j in 0..<width where bits[j] & 0x7fff_ffff != 0 {
            if let last = runs.last, last.start + last.count == j { runs[runs.count - 1].count += 1 } else { runs.append((j, 1)) }
            live += 1
        }
        guard live < width - width / 8 else { return nil }
        self.runs = runs
        count = live
        self.width = width
    }

    /// The live columns of `matrix` (rows × width), as a rows × live matrix.
    func columns(of matrix: [Float]) -> [Float] {
        let rows = matrix.count / width
        return [Float](unsafeUninitializedCapacity: rows * count) { out, initialized in
            matrix.withUnsafeBufferPointer { m in
                var target = out.baseAddress!
                for r in 0..<rows {
                    for run in runs {
                        target.initialize(from: m.baseAddress! + r * width + run.start, count: run.count)
                        target += run.count
                    }
                }
            }
            initialized = rows * count
        }
    }

    /// The rows of `matrix` (width × columns) at the live indices, as a live × columns matrix.
    func rows(of matrix: [Float], columns: Int) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(count * columns)
        for run in runs { out.append(contentsOf: matrix[(run.start * columns)..<((run.start + run.count) * columns)]) }
        return out
    }

    /// Adds a live × columns matrix into the live rows of `target` (width × columns).
    func addRows(_ compact: [Float], into target: UnsafeMutableBufferPointer<Float>, columns: Int) {
        compact.withUnsafeBufferPointer { c in
            var source = 0
            for run in runs {
                let (to, length) = (run.start * columns, run.count * columns)
                for i in 0..<length { target[to &+ i] += c[source &+ i] }
                source += length
            }
        }
    }
}
