/// Accumulates Fisher diagonals from per-sample gradients.
///
/// - exact: the mean over samples of each parameter's squared per-sample gradient. It does not
///   depend on batching or order (mathematically: float32 sums within a batch round differently).
///   For a Dense kernel that is a matrix product of squared activations and squared output deltas,
///   which is how it is computed.
/// - batch: the official SSD code's definition: for each mini-batch, the squared gradient of the
///   batch-mean loss, summed over batches and divided by their number.
public enum FisherMode: Sendable, Equatable, CustomStringConvertible {
    case exact
    case batch(Int)

    public var description: String {
        switch self {
        case .exact: "exact"
        case .batch(let size): "batch:\(size)"
        }
    }

    /// Samples per gradient: 1 for exact (per-sample), B for batch.
    public var batchSize: Int {
        switch self {
        case .exact: 1
        case .batch(let size): size
        }
    }
}

/// One batch's contribution to the Fisher diagonals, in float32, by tensor name: in exact mode the
/// sum over the batch's samples of each squared per-sample gradient; in batch mode the gradient of
/// the batch-mean loss (squared when it is accumulated). Batches are measured independently, in
/// parallel, and added to a `FisherAccumulator` in file order.
struct GradientSink: Sendable {
    let mode: FisherMode
    private(set) var contributions: [String: [Float]] = [:]

    init(mode: FisherMode) { self.mode = mode }

    /// The contribution of `name` (of `size` values), zero until something is added.
    private mutating func update(_ name: String, size: Int, _ body: (UnsafeMutableBufferPointer<Float>) -> Void) {
        contributions[name, default: [Float](repeating: 0, count: size)].withUnsafeMutableBufferPointer { body($0) }
    }

    /// A Dense-style kernel whose per-sample gradient is the outer product of `inputs` (n × k) and
    /// `deltas` (n × f). Kernel rows whose input column is zero in every sample get nothing, so
    /// only the live columns are multiplied when that pays.
    mutating func addOuter(_ name: String, inputs: [Float], deltas: [Float], n: Int, k: Int, f: Int) {
        let exact = mode == .exact
        // Zero inputs contribute nothing unless a delta is infinite or NaN (0 · ∞ is NaN).
        let live = deltas.allFinite ? LiveColumns(inputs, width: k) : nil
        var a = live?.columns(of: inputs) ?? inputs
        if exact { a.square() }
        let d = exact ? deltas.squared() : deltas
        let alpha: Float = exact ? 1 : 1 / Float(n)
        if let live {
            let product = GEMM.product(a, transposeA: true, d, m: live.count, n: f, k: n, alpha: alpha)
            update(name, size: k * f) { live.addRows(product, into: $0, columns: f) }
            return
        }
        update(name, size: k * f) { contribution in
            a.withUnsafeBufferPointer { a in
                d.withUnsafeBufferPointer { d in
                    GEMM.multiply(a.baseAddress!, transposeA: true, d.baseAddress!, into: contribution.baseAddress!, m: k, n: f, k: n,
                                  alpha: alpha, beta: 1)
                }
            }
        }
    }

    /// Per-sample gradients of one parameter: `gradients` holds n rows of `size` values.
    mutating func addPerSample(_ name: String, gradients: [Float], size: Int) {
        let n = gradients.count / size
        gradients.withUnsafeBufferPointer { g in
            switch mode {
            case .exact:
                update(name, size: size) { c in
                    for row in stride(from: 0, to: n * size, by: size) {
                        for j in 0..<size { c[j] += g[row &+ j] * g[row &+ j] }
                    }
                }
            case .batch:
                var sum = [Float](repeating: 0, count: size)
                for row in stride(from: 0, to: n * size, by: size) {
                    for j in 0..<size { sum[j] += g[row &+ j] }
                }
                addBatchSum(name, sum: sum, n: n)
            }
        }
    }

    /// A kernel applied at every position of a sample (a convolution over its im2col rows, a Dense
    /// on every position): `inputs` holds n · positions rows of k values, `deltas` as many rows of
    /// f; a sample's gradient is the sum over its positions of the outer products.
    mutating func addPositional(_ name: String, inputs: [Float], deltas: [Float], n: Int, positions: Int, k: Int, f: Int) {
        guard mode == .exact else {
            // Only the batch's gradient is needed: one product over all samples and positions.
            addBatchSum(name, sum: GEMM.product(inputs, transposeA: true, deltas, m: k, n: f, k: n * positions), n: n)
            return
        }
        var single = [Float](repeating: 0, count: k * f)
        inputs.withUnsafeBufferPointer { a in
            deltas.withUnsafeBufferPointer { d in
                for s in 0..<n {
                    single.withUnsafeMutableBufferPointer { g in
                        GEMM.multiply(a.baseAddress! + s * positions * k, transposeA: true, d.baseAddress! + s * positions * f,
                                      into: g.baseAddress!, m: k, n: f, k: positions)
                    }
                    addPerSample(name, gradients: single, size: k * f)
                }
            }
        }
    }

    /// A bias added at every position: each sample's gradient is its deltas (n · positions rows of
    /// f) summed over its positions.
    mutating func addPositionalSums(_ name: String, deltas: [Float], n: Int, positions: Int, f: Int) {
        var perSample = [Float](repeating: 0, count: n * f)
        deltas.withUnsafeBufferPointer { d in
            perSample.withUnsafeMutableBufferPointer { g in
                for s in 0..<n {
                    for r in 0..<positions {
                        let row = (s * positions + r) * f
                        for j in 0..<f { g[s &* f &+ j] += d[row &+ j] }
                    }
                }
            }
        }
        addPerSample(name, gradients: perSample, size: f)
    }

    /// One sample's gradient of a table of `size` values (an embedding), as the rows of `width`
    /// values it reached: exact mode adds their squares, batch mode their share (1/n) of the
    /// gradient of the mean over the batch's `n` samples.
    mutating func addSampleRows(_ name: String, size: Int, width: Int, rows: [Int: [Float]], n: Int) {
        let exact = mode == .exact
        update(name, size: size) { c in
            for (row, values) in rows {
                for j in 0..<width { c[row &* width &+ j] += exact ? values[j] * values[j] : values[j] / Float(n) }
            }
        }
    }

    /// Exact mode: adds the squares of one sample's gradients, measured into `single` in batch mode
    /// (where a layer used more than once adds its uses' gradients before they are squared).
    mutating func addSquares(of single: GradientSink) {
        precondition(mode == .exact && single.mode == .batch(1), "squares of one sample's gradients go into exact Fisher sums")
        for (name, gradient) in single.contributions {
            update(name, size: gradient.count) { c in
                for j in c.indices { c[j] += gradient[j] * gradient[j] }
            }
        }
    }

    /// Adds `values` to the contribution of `name`: a layer that computes in another layout than its
    /// file's moves its contributions over this way.
    mutating func add(_ name: String, _ values: [Float]) {
        update(name, size: values.count) { c in
            precondition(c.count == values.count, "\(name): \(values.count) values added to a contribution of \(c.count)")
            for j in c.indices { c[j] += values[j] }
        }
    }

    /// Batch mode only: a parameter's gradient summed over the batch's `n` samples (the batch-mean
    /// loss's gradient is this sum over n).
    mutating func addBatchSum(_ name: String, sum: [Float], n: Int) {
        precondition(mode != .exact, "exact Fisher needs per-sample gradients")
        update(name, size: sum.count) { c in
            for j in c.indices { c[j] += sum[j] / Float(n) }
        }
    }
}

/// Fisher sums over a split in double precision, batch contributions added in file order, so the
/// result does not depend on how many threads measured the batches.
public struct FisherAccumulator: Sendable {
    public let mode: FisherMode
    public private(set) var sums: [String: [Double]] = [:]
    public private(set) var samples = 0
    public private(set) var batches = 0

    public init(mode: FisherMode) { self.mode = mode }

    mutating func add(_ sink: GradientSink, samples count: Int) {
        samples += count
        batches += 1
        let square = mode != .exact
        for (name, contribution) in sink.contributions {
            sums[name, default: [Double](repeating: 0, count: contribution.count)].withUnsafeMutableBufferPointer { sum in
                contribution.withUnsafeBufferPointer { c in
                    if square {
                        for j in sum.indices { sum[j] += Double(c[j]) * Double(c[j]) }
                    } else {
                        for j in sum.indices { sum[j] += Double(c[j]) }
                    }
                }
            }
        }
    }

    /// The diagonals: sums divided by samples (exact) or batches (batch).
    public var diagonals: [String: [Double]] {
        let divisor = Double(mode == .exact ? max(samples, 1) : max(batches, 1))
        return sums.mapValues { $0.map { $0 / divisor } }
    }

    /// Exact mode: the sums over two disjoint sets of samples are the sums over their union.
    func merged(with other: FisherAccumulator) -> FisherAccumulator {
        precondition(mode == .exact && other.mode == .exact, "only exact Fisher sums add across splits")
        var union = self
        union.samples += other.samples
        union.batches += other.batches
        union.sums.merge(other.sums) { zip($0, $1).map(+) }
        return union
    }
}

extension Array where Element == Float {
    /// No value is infinite or NaN (one pass that vectorises: x · 0 is NaN exactly for those).
    var allFinite: Bool {
        var probe: Float = 0
        withUnsafeBufferPointer { v in for i in v.indices { probe += v[i] * 0 } }
        return probe == 0
    }

    mutating func square() {
        withUnsafeMutableBufferPointer { v in for i in v.indices { v[i] *= v[i] } }
    }

    func squared() -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            withUnsafeBufferPointer { v in for i in v.indices { out[i] = v[i] * v[i] } }
            initialized = count
        }
    }
}
