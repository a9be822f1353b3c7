import Checkpoint

/// `revert:alpha=A,dw=T,select=corr|dw,corr=C` — selective retraining of the spiking-network paper
/// (eq. 6–9): synapses that learning the forget data moved (|ΔW| > T) are moved back,
/// W' = W − A·ΔW. With `select=corr` (the default) only those whose two neurons are both tied to the
/// forget data (correlation > C for the input unit and for the output unit: eq. 6's share of their
/// activity or spikes on the forget data; a bias entry needs only its output unit); with `select=dw`
/// all of them. Needs `--pre`; `select=corr` also `--stats` with `/correlation/forget/<layer>/{pre,post}`
/// or `--data`. Acts on the kernels and biases of layers that have them.
struct RevertPass: TensorPass {
    static let name = "revert"
    static let usage = "revert:alpha=A,dw=T,select=corr|dw,corr=C"
    static let summary = "W − A·ΔW where |ΔW| > T (and, with select=corr, both neurons' forget-data correlation > C; needs --pre, and --stats or --data)"
    static let parameterNames = ["alpha", "dw", "select", "corr"]

    let alpha: Double, deltaThreshold: Double, correlationThreshold: Double
    /// Whether the neurons' correlation with the forget data selects too (else |ΔW| alone).
    let byCorrelation: Bool

    var requirements: Set<PassRequirement> { byCorrelation ? [.preSnapshot, .correlation] : [.preSnapshot] }

    init(_ arguments: PassArguments) throws {
        alpha = try arguments.double("alpha", positional: true, default: 1)
        deltaThreshold = try arguments.double("dw", default: 0, in: 0...Double.greatestFiniteMagnitude)
        let select = arguments.string("select") ?? "corr"
        guard ["corr", "dw"].contains(select) else {
            throw PassError.badValue(spec: arguments.spec.text, key: "select", value: select, expected: "corr or dw")
        }
        byCorrelation = select == "corr"
        correlationThreshold = try arguments.double("corr", default: 0.5)
        if !byCorrelation, arguments.spec.options.contains(where: { $0.key == "corr" }) {
            throw PassError.malformed(spec: arguments.spec.text, reason: "corr=C applies to select=corr")
        }
    }

    var parameters: [(name: String, value: String)] {
        [("alpha", "\(alpha)"), ("dw", "\(deltaThreshold)"), ("select", byCorrelation ? "corr" : "dw")]
            + (byCorrelation ? [("corr", "\(correlationThreshold)")] : [])
    }

    func tensors(in context: PlanContext) throws -> [String] {
        let trainable = byCorrelation
            ? TrainableTensors.select(in: context) { name in
                StatisticsSchema.correlation(layer: context.layout.tensors[name]?.layer ?? "", side: .post)
            }
            : TrainableTensors.select(in: context)
        return trainable.filter { [.kernel, .bias].contains(context.layout.tensors[$0]?.role) }
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        let companions = context.companions
        let (alpha, dw, corr) = (alpha, deltaThreshold, correlationThreshold)
        guard companions.pre != nil else { return }
        // Whether the neurons of flat index i qualify (nil with select=dw: always).
        var neuronsQualify: ((Int) -> Bool)?
        if byCorrelation {
            guard let post = companions.correlationPost, let postAxis = context.tensor.classAxis else { return }
            let shape = tensor.shape
            let strides = shape.indices.map { shape[($0 + 1)...].reduce(1, *) }
            let preAxis = CompanionLoader.inputAxis(of: context.tensor)
            neuronsQualify = { i in
                guard post[(i / strides[postAxis]) % shape[postAxis]] > corr else { return false }
                guard let preAxis, let pre = companions.correlationPre else { return true }
                return pre[(i / strides[preAxis]) % shape[preAxis]] > corr
            }
        }
        for range in companions.slices(of: tensor.values.count) {
            let slice = try companions.snapshot(range, of: tensor)
            var selected = slice.indices(whereChangeExceeds: dw)
            if let neuronsQualify { selected.removeAll { !neuronsQualify($0) } }
            tensor.update(selected) { i, w in w - alpha * slice.delta(i) }
        }
    }
}
