import Checkpoint

/// `negate:LAMBDA` — task-vector negation: W' = W − λ·ΔW with ΔW = W_input − W_pre, on every
/// floating tensor but optimizer state (`@GLOB` narrows it). λ = 1 returns the `--pre` snapshot exactly: it is computed as
/// W_pre + (W − W_input) + (1 − λ)·ΔW, which is the same thing without cancellation.
struct NegatePass: TensorPass {
    static let name = "negate"
    static let usage = "negate:LAMBDA"
    static let summary = "subtract LAMBDA times the change ΔW = W − W_pre (1 restores --pre; needs --pre)"
    static let parameterNames = ["lambda"]

    let lambda: Double

    var requirements: Set<PassRequirement> { [.preSnapshot] }

    init(_ arguments: PassArguments) throws {
        lambda = try arguments.double("lambda", positional: true)
    }

    var parameters: [(name: String, value: String)] { [("lambda", "\(lambda)")] }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.everyFloating(in: context)
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        let companions = context.companions
        guard companions.pre != nil else { return }
        let keep = 1 - lambda
        var results = [Double](repeating: 0, count: min(companions.sliceSize, tensor.values.count))
        for range in companions.slices(of: tensor.values.count) {
            let slice: SnapshotSlice
            if companions.original == nil, let pre = companions.pre {
                // No pass before this one changed the tensor: its own values are the input's, read
                // where they are instead of copied into a snapshot slice first.
                let preValues = try pre.slice(range)
                if results.withUnsafeMutableBufferPointer({ Self.negate(keep, inputValues: tensor.values, pre: preValues, range: range, into: $0) }) {
                    results.withUnsafeBufferPointer { tensor.update(range, to: UnsafeBufferPointer(rebasing: $0[..<range.count])) }
                    continue
                }
                slice = SnapshotSlice(range: range, originalValues: tensor.values.slice(range), preValues: preValues)
            } else {
                slice = try companions.snapshot(range, of: tensor)
            }
            // The values now: the input's, unless a pass before this one changed the tensor.
            let current = companions.original == nil ? slice.originalValues : tensor.values.slice(range)
            let low = range.lowerBound
            results.withUnsafeMutableBufferPointer { results in
                // One loop for the common precision; the formula is the same in both.
                switch (current, slice.originalValues, slice.preValues) {
                case (.float32(let w), .float32(let o), .float32(let p)):
                    for k in 0..<range.count {
                        let (w, o, p) = (Double(w[k]), Double(o[k]), Double(p[k]))
                        results[k] = p + (w - o) + keep * (o - p)
                    }
                default:
                    for k in 0..<range.count {
                        let (w, o, p) = (current[k], slice.original(low + k), slice.pre(low + k))
                        results[k] = p + (w - o) + keep * (o - p)
                    }
                }
                tensor.update(range, to: UnsafeBufferPointer(rebasing: results[..<range.count]))
            }
        }
    }

    /// The formula over `range` of float32 values that are the input's (W and W_input the same),
    /// into `results`; false, nothing written, for other precisions.
    private static func negate(_ keep: Double, inputValues values: TensorValues, pre: TensorValues, range: Range<Int>,
                               into results: UnsafeMutableBufferPointer<Double>) -> Bool {
        guard case .float32(let w) = values, case .float32(let p) = pre else { return false }
        w.withUnsafeBufferPointer { w in
            p.withUnsafeBufferPointer { p in
                let w = UnsafeBufferPointer(rebasing: w[range])
                for k in 0..<range.count {
                    let (o, p) = (Double(w[k]), Double(p[k]))
                    results[k] = p + (o - o) + keep * (o - p)
                }
            }
        }
        return true
    }
}
