import Checkpoint

/// `revert:alpha=A,dw=T,corr=C` — selective retraining of the spiking-network paper (eq. 6–9): only
/// synapses that learning the forget data moved (|ΔW| > T) and whose two neurons are both tied to
/// the forget data (correlation > C for the input unit and for the output unit) are moved back:
/// W' = W − A·ΔW. A bias entry needs only its output unit. Needs `--pre` and `--stats` with
/// `/correlation/forget/<layer>/{pre,post}`; acts on the kernels and biases of layers that have them.
struct RevertPass: TensorPass {
    static let name = "revert"
    static let usage = "revert:alpha=A,dw=T,corr=C"
    static let summary = "W − A·ΔW where |ΔW| > T and both neurons' forget-data correlation > C (needs --pre; --stats or --data)"
    static let parameterNames = ["alpha", "dw", "corr"]

    let alpha: Double, deltaThreshold: Double, correlationThreshold: Double

    var requirements: Set<PassRequirement> { [.preSnapshot, .correlation] }

    init(_ arguments: PassArguments) throws {
        alpha = try arguments.double("alpha", positional: true, default: 1)
        deltaThreshold = try arguments.double("dw", default: 0, in: 0...Double.greatestFiniteMagnitude)
        correlationThreshold = try arguments.double("corr", default: 0.5)
    }

    var parameters: [(name: String, value: String)] {
        [("alpha", "\(alpha)"), ("dw", "\(deltaThreshold)"), ("corr", "\(correlationThreshold)")]
    }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.select(in: context) { name in
            StatisticsSchema.correlation(layer: context.layout.tensors[name]?.layer ?? "", side: .post)
        }.filter { [.kernel, .bias].contains(context.layout.tensors[$0]?.role) }
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        let companions = context.companions
        guard let post = companions.correlationPost, let postAxis = context.tensor.classAxis else { return }
        let shape = tensor.shape
        let strides = shape.indices.map { shape[($0 + 1)...].reduce(1, *) }
        let preAxis = CompanionLoader.inputAxis(of: context.tensor)
        let (alpha, dw, corr) = (alpha, deltaThreshold, correlationThreshold)
        let selected = (0..<tensor.values.count).filter { i in
            guard abs(companions.delta(i)) > dw, post[(i / strides[postAxis]) % shape[postAxis]] > corr else { return false }
            guard let preAxis, let pre = companions.correlationPre else { return true }
            return pre[(i / strides[preAxis]) % shape[preAxis]] > corr
        }
        tensor.update(selected) { i, w in w - alpha * companions.delta(i) }
    }
}
