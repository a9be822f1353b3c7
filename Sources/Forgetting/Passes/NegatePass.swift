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
                if Self.negate(keep, inputValues: &tensor, pre: preValues, range: range, results: &results) { continue }
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

    /// Elements computed and stored at a time by the float32 loop: their results (16 KiB of
    /// Double) stay in the core's first-level cache between the formula and the store.
    static let block = 2048

    /// The formula over `range` of float32 values that are the input's (W and W_input the same),
    /// stored into `tensor` a block at a time; false, nothing written, for other precisions.
    private static func negate(_ keep: Double, inputValues tensor: inout Tensor, pre: TensorValues, range: Range<Int>,
                               results: inout [Double]) -> Bool {
        guard case .float32 = tensor.values, case .float32(let p) = pre else { return false }
        var start = range.lowerBound
        while start < range.upperBound {
            let block = start..<min(start + Self.block, range.upperBound)
            results.withUnsafeMutableBufferPointer { negate(keep, inputValues: tensor.values, pre: p, at: block, from: range.lowerBound, into: $0) }
            results.withUnsafeBufferPointer { tensor.update(block, to: UnsafeBufferPointer(rebasing: $0[..<block.count])) }
            start = block.upperBound
        }
        return true
    }

    /// The formula over `block` into the first elements of `results`, eight elements a step (each
    /// lane computes what the scalar formula does); `pre` holds the snapshot's values from flat
    /// index `preStart` on. The tensor's values are borrowed, not kept: `update` edits them in
    /// place right after.
    private static func negate(_ keep: Double, inputValues values: TensorValues, pre: [Float], at block: Range<Int>, from preStart: Int,
                               into results: UnsafeMutableBufferPointer<Double>) {
        guard case .float32(let w) = values, let out = UnsafeMutableRawPointer(results.baseAddress) else { return }
        precondition(block.lowerBound >= preStart && block.upperBound <= w.count && block.upperBound - preStart <= pre.count
                     && block.count <= results.count, "negate: block \(block) out of its arrays")
        w.withUnsafeBytes { w in
            pre.withUnsafeBytes { p in
                let (wStart, pStart) = (block.lowerBound * 4, (block.lowerBound - preStart) * 4)
                let keeps = SIMD8<Double>(repeating: keep)
                var k = 0
                while k + 8 <= block.count {
                    let o = SIMD8<Double>(w.loadUnaligned(fromByteOffset: wStart + k * 4, as: SIMD8<Float>.self))
                    let p = SIMD8<Double>(p.loadUnaligned(fromByteOffset: pStart + k * 4, as: SIMD8<Float>.self))
                    out.storeBytes(of: p + (o - o) + keeps * (o - p), toByteOffset: k * 8, as: SIMD8<Double>.self)
                    k += 8
                }
                while k < block.count {
                    let (o, p) = (Double(w.load(fromByteOffset: wStart + k * 4, as: Float.self)), Double(p.load(fromByteOffset: pStart + k * 4, as: Float.self)))
                    results[k] = p + (o - o) + keep * (o - p)
                    k += 1
                }
            }
        }
    }
}
