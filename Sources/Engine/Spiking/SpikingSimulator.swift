import Checkpoint

/// What simulating a batch gave.
public struct SpikingBatchResult: Sendable {
    /// Each sample's class scores, `classes` per sample: output spike counts over all steps, or the
    /// mean output over the steps when the readout does not spike (a leaky integrator).
    public var scores: [Float]
    /// When recorded, per spiking node: each sample's spikes per unit over all steps, sample after sample.
    public var activity: [String: [Float]] = [:]
    /// When recorded, per Affine/Linear and Conv2d node: each sample's input per unit summed over
    /// the steps (what its presynaptic units sent).
    public var synapseInputs: [String: [Float]] = [:]
    /// When recorded, per spiking node: spikes at the first and at the last step, summed over the
    /// batch's samples, per unit (the two ends of eq. 15's telescoping sum).
    public var firstStep: [String: [Float]] = [:], lastStep: [String: [Float]] = [:]
}

extension SpikingNetwork {
    /// Simulates `n` samples. `input` holds each sample's values (with `.spikes`, `steps` rows of
    /// the input shape per sample, time first); `indices` are the samples' indices in their data
    /// (rate coding draws from them, so a sample's spikes do not depend on its batch). Each node
    /// runs over all time steps before the next: in a feed-forward graph a node's input over time
    /// does not depend on its own state, so synapses are one product over all steps. Every node's
    /// output is sample-major, `[sample][step][unit]`, the order spike trains arrive in, so they
    /// are used in place. Rows are independent for the synapses; each neuron steps through time in
    /// order, and sums over steps (or samples) add them in ascending order, so no result depends
    /// on the layout.
    public func simulate(_ input: [Float], samples n: Int, indices: [Int], options: SpikingOptions, record: Bool = false) -> SpikingBatchResult {
        run(.values(input), samples: n, indices: indices, options: options, record: record).result
    }

    /// `simulate` on spike trains held as bytes (`options.encoding` is `.spikes`): sample s's
    /// input j at step t is Float(spikes[(s·steps + t)·width + j]) × `scale`, the value the float
    /// form holds after `SplitBatches` scales it, so the results are the same. Synapses fed by the
    /// input read the bytes in place; any other node reading it gets those floats.
    public func simulate(spikes: [UInt8], scale: Float, samples n: Int, indices: [Int], options: SpikingOptions,
                         record: Bool = false) -> SpikingBatchResult {
        precondition(options.encoding == .spikes, "bytes are spike trains: the encoding must be .spikes")
        return run(.spikes(spikes, scale: scale), samples: n, indices: indices, options: options, record: record).result
    }

    /// A batch's input: values, or spike trains as bytes with the scale of their values.
    enum BatchInput {
        case values([Float])
        case bytes([UInt8], scale: Float)

        /// Spike trains as bytes, each worth Float(byte) × `scale`; with a NaN or infinite scale,
        /// which makes the zeros NaN (inputs that fire), as those floats.
        static func spikes(_ bytes: [UInt8], scale: Float) -> BatchInput {
            scale.isFinite ? .bytes(bytes, scale: scale) : .values(FloatCodec.widened(bytes, scale: scale))
        }
    }

    /// Runs a batch's nodes from `start` on (without it, every node, the input node reading
    /// `input`) and returns the result and, with `keep`, the state before node `keep` (see
    /// `SpikingPrefixes`).
    func run(_ input: BatchInput?, from start: BatchState? = nil, keeping keep: Int? = nil, samples n: Int, indices: [Int],
             options: SpikingOptions, record: Bool) -> (result: SpikingBatchResult, kept: BatchState?) {
        let steps = options.steps, rows = steps * n
        var state = start ?? BatchState(nodes: nodes.count)
        var kept: BatchState?
        let lastReaders = self.lastReaders
        /// A node's output as floats: bytes become Float(byte) × scale.
        func values(_ node: Int) -> [Float] {
            if let out = state.outputs[node] { return out }
            guard let bytes = state.byteOutputs[node] else { preconditionFailure("node \(node) has not run") }
            return FloatCodec.widened(bytes, scale: state.byteScale)
        }
        for position in state.next..<nodes.count {
            state.next = position
            if position == keep { kept = state }
            let node = nodes[position]
            let width = node.width, inputWidth = node.inputShape.reduce(1, *)
            // The summed output of the nodes feeding this one (one source: its output as is).
            var incoming: [Float] {
                guard let first = node.inputs.first else { return [] }
                var total = values(first)
                for other in node.inputs.dropFirst() {
                    let more = values(other)
                    for i in total.indices { total[i] += more[i] }
                }
                return total
            }
            // The spike trains as bytes when they are this node's one input.
            let bytesIn = node.inputs.count == 1 ? state.byteOutputs[node.inputs[0]] : nil
            let fromSpikes = !node.inputs.isEmpty && node.inputs.allSatisfy { state.sparse[$0] }
            var out: [Float]?
            switch node.kind {
            case .input:
                switch input {
                case .values(let x)?:
                    let (encoded, spikes) = encode(x, samples: n, indices: indices, options: options)
                    (out, state.sparse[position]) = (encoded, spikes)
                case .bytes(let bytes, let scale)?:
                    precondition(bytes.count == n * steps * inputShape.reduce(1, *), "\(bytes.count) bytes for \(n) samples of \(steps) steps of \(inputShape)")
                    (state.byteOutputs[position], state.byteScale, state.sparse[position]) = (bytes, scale, true)
                case nil:
                    preconditionFailure("the input node runs on an input")
                }
            case .output:
                out = incoming
            case .affine(let weight, let bias):
                if let bytes = bytesIn, let columns = columns[weight], inputWidth > 0, width > 0 {
                    let scale = state.byteScale
                    if record { state.recorded.synapseInputs[node.name] = Self.sumOverSteps(bytes, scale: scale, steps: steps, samples: n, width: inputWidth) }
                    out = SpikingSynapses.affine(spikes: bytes, scale: scale, rows: rows, inputs: inputWidth, outputs: width, columns: columns,
                                                 bias: bias.flatMap { weights[$0] })
                } else {
                    let incoming = incoming
                    if record { state.recorded.synapseInputs[node.name] = Self.sumOverSteps(incoming, steps: steps, samples: n, width: inputWidth) }
                    out = SpikingSynapses.affine(incoming, rows: rows, inputs: inputWidth, outputs: width, weight: weights[weight]!,
                                                 columns: fromSpikes ? columns[weight] : nil, bias: bias.flatMap { weights[$0] })
                }
            case .scale(let scale):
                var scaled = incoming
                let factors = weights[scale]!
                scaled.withUnsafeMutableBufferPointer { v in
                    for row in 0..<rows { for j in 0..<width { v[row &* width &+ j] *= factors[j] } }
                }
                out = scaled
            case .flatten:
                if let bytes = bytesIn { state.byteOutputs[position] = bytes } else { out = incoming }
                state.sparse[position] = fromSpikes
            case .conv2d(let convolution):
                let incoming = incoming
                if record { state.recorded.synapseInputs[node.name] = Self.sumOverSteps(incoming, steps: steps, samples: n, width: inputWidth) }
                out = SpikingSynapses.convolve(incoming, rows: rows, input: node.inputShape, output: node.outputShape, convolution,
                                               weight: weights[convolution.weight]!, bias: convolution.bias.flatMap { weights[$0] })
            case .pool2d(let average, let kernel, let stride, let padding):
                out = SpikingSynapses.pool(incoming, rows: rows, input: node.inputShape, output: node.outputShape, average: average,
                                           kernel: kernel, stride: stride, padding: padding)
                state.sparse[position] = fromSpikes && !average
            case .lif, .integrateAndFire, .leakyIntegrator, .cubaLIF:
                let spikes = SpikingNeurons.run(node, current: incoming, samples: n, options: options, weights: weights)
                state.sparse[position] = node.kind.spikes
                if record, node.kind.spikes {
                    state.recorded.activity[node.name] = Self.sumOverSteps(spikes, steps: steps, samples: n, width: width)
                    state.recorded.firstStep[node.name] = Self.sumOverSamples(spikes, step: 0, of: steps, samples: n, width: width)
                    state.recorded.lastStep[node.name] = Self.sumOverSamples(spikes, step: steps - 1, of: steps, samples: n, width: width)
                }
                out = spikes
            }
            state.outputs[position] = out
            // A node's output is dropped once the last node reading it has run (the readout is kept).
            for earlier in node.inputs where lastReaders[earlier] == position && earlier != readout {
                (state.outputs[earlier], state.byteOutputs[earlier]) = (nil, nil)
            }
        }
        state.next = nodes.count
        if keep == nodes.count { kept = state }
        let classes = self.classes, last = values(readout)
        var scores = [Float](repeating: 0, count: n * classes)
        for s in 0..<n {
            for t in 0..<steps {
                for j in 0..<classes { scores[s * classes + j] += last[(s * steps + t) * classes + j] }
            }
        }
        if !nodes[readout].kind.spikes { for i in scores.indices { scores[i] /= Float(steps) } }
        var result = state.recorded
        result.scores = scores
        return (result, kept)
    }

    /// The input node's values over time, sample-major (`[sample][step][unit]`), and whether they
    /// are mostly zeros (spikes), which lets the next synapses add only the weights of inputs that
    /// fired. Spike trains are already in that order: they are returned as they are.
    private func encode(_ input: [Float], samples n: Int, indices: [Int], options: SpikingOptions) -> ([Float], Bool) {
        let width = inputShape.reduce(1, *), steps = options.steps
        switch options.encoding {
        case .spikes:
            precondition(input.count == n * steps * width, "\(input.count) values for \(n) samples of \(steps) steps of \(inputShape)")
            return (input, true)
        case .current:
            var out = [Float](repeating: 0, count: steps * n * width)
            for s in 0..<n { for t in 0..<steps { for j in 0..<width { out[(s * steps + t) * width + j] = input[s * width + j] } } }
            return (out, false)
        case .rate(let seed):
            precondition(input.count == n * width, "\(input.count) values for \(n) samples of \(inputShape)")
            var out = [Float](repeating: 0, count: steps * n * width)
            // One 32-bit draw per value and step, two from each 64-bit draw: a spike where draw < p·2³².
            // p clamped to [0, 1] (NaN to 0), so every threshold is in [0, 2³²] and converts without a trap.
            let thresholds = input.map { UInt64(($0 > 0 ? min(Double($0), 1) : 0) * 4_294_967_296) }
            thresholds.withUnsafeBufferPointer { p in
                out.withUnsafeMutableBufferPointer { o in
                    for s in 0..<n {
                        var random = SplitMix64(seed: seed ^ (UInt64(truncatingIfNeeded: indices[s]) &* 0x9E37_79B9_7F4A_7C15))
                        var spare: UInt64 = 0, haveSpare = false
                        let sample = p.baseAddress! + s &* width
                        for t in 0..<steps {
                            let row = o.baseAddress! + (s &* steps &+ t) &* width
                            for j in 0..<width {
                                let draw: UInt64
                                if haveSpare {
                                    draw = spare
                                } else {
                                    let bits = random.next()
                                    (draw, spare) = (bits >> 32, bits & 0xFFFF_FFFF)
                                }
                                haveSpare.toggle()
                                if draw < sample[j] { row[j] = 1 }
                            }
                        }
                    }
                }
            }
            return (out, true)
        }
    }

    /// Per sample and unit, the values summed over the steps in order (sample-major input).
    static func sumOverSteps(_ values: [Float], steps: Int, samples n: Int, width w: Int) -> [Float] {
        sumOverSteps(values, steps: steps, samples: n, width: w) { $0 }
    }

    /// `sumOverSteps` of spikes held as bytes, each worth Float(byte) × `scale`.
    static func sumOverSteps(_ bytes: [UInt8], scale: Float, steps: Int, samples n: Int, width w: Int) -> [Float] {
        sumOverSteps(bytes, steps: steps, samples: n, width: w) { Float($0) * scale }
    }

    private static func sumOverSteps<Element>(_ elements: [Element], steps: Int, samples n: Int, width w: Int,
                                              value: (Element) -> Float) -> [Float] {
        var sums = [Float](repeating: 0, count: n * w)
        elements.withUnsafeBufferPointer { v in
            sums.withUnsafeMutableBufferPointer { sum in
                for s in 0..<n {
                    let total = sum.baseAddress! + s &* w
                    for t in 0..<steps {
                        let step = v.baseAddress! + (s &* steps &+ t) &* w
                        for j in 0..<w { total[j] += value(step[j]) }
                    }
                }
            }
        }
        return sums
    }

    /// Per unit, the values of one step summed over the samples in order.
    static func sumOverSamples(_ values: [Float], step t: Int, of steps: Int, samples n: Int, width w: Int) -> [Float] {
        var sums = [Float](repeating: 0, count: w)
        for s in 0..<n { for j in 0..<w { sums[j] += values[(s * steps + t) * w + j] } }
        return sums
    }
}
