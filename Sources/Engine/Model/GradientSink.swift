/// Accumulates Fisher diagonals from per-sample gradients.
///
/// - exact: the mean over samples of each parameter's squared per-sample gradient. It does not
///   depend on batching or order. For a Dense kernel that is a matrix product of squared
///   activations and squared output deltas, which is how it is computed.
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

struct GradientSink {
    let mode: FisherMode
    /// Running sums in double precision (each batch's contribution is computed in float32).
    private(set) var sums: [String: [Double]] = [:]
    private(set) var samples = 0
    private(set) var batches = 0

    init(mode: FisherMode) { self.mode = mode }

    mutating func beginBatch(samples count: Int) {
        samples += count
        batches += 1
    }

    /// A Dense-style kernel whose per-sample gradient is the outer product of `inputs` (n × k) and
    /// `deltas` (n × f).
    mutating func addOuter(_ name: String, inputs: [Float], deltas: [Float], n: Int, k: Int, f: Int) {
        var sum = sums.removeValue(forKey: name) ?? [Double](repeating: 0, count: k * f)
        switch mode {
        case .exact:
            let a2 = inputs.map { $0 * $0 }, d2 = deltas.map { $0 * $0 }
            let contribution = GEMM.product(a2, transposeA: true, d2, m: k, n: f, k: n)
            for i in sum.indices { sum[i] += Double(contribution[i]) }
        case .batch:
            let mean = GEMM.product(inputs, transposeA: true, deltas, m: k, n: f, k: n, alpha: 1 / Float(n))
            for i in sum.indices { sum[i] += Double(mean[i]) * Double(mean[i]) }
        }
        sums[name] = sum
    }

    /// A parameter's gradient summed over the batch's samples (batch mode only: the batch-mean
    /// loss's gradient is this sum over n).
    mutating func addBatchSum(_ name: String, sum gradient: [Float], n: Int) {
        precondition(mode != .exact, "exact Fisher needs per-sample gradients")
        var sum = sums.removeValue(forKey: name) ?? [Double](repeating: 0, count: gradient.count)
        for j in sum.indices { let mean = Double(gradient[j]) / Double(n); sum[j] += mean * mean }
        sums[name] = sum
    }

    /// Any parameter, given its per-sample gradients (n rows of `size`).
    mutating func addPerSample(_ name: String, gradients: [Float], n: Int, size: Int) {
        var sum = sums.removeValue(forKey: name) ?? [Double](repeating: 0, count: size)
        switch mode {
        case .exact:
            for s in 0..<n { for j in 0..<size { let g = Double(gradients[s * size + j]); sum[j] += g * g } }
        case .batch:
            for j in 0..<size {
                var mean = 0.0
                for s in 0..<n { mean += Double(gradients[s * size + j]) }
                mean /= Double(n)
                sum[j] += mean * mean
            }
        }
        sums[name] = sum
    }

    /// The diagonals: sums divided by samples (exact) or batches (batch).
    func result() -> [String: [Double]] {
        let divisor = Double(mode == .exact ? max(samples, 1) : max(batches, 1))
        return sums.mapValues { $0.map { $0 / divisor } }
    }
}
