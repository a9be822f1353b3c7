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
        let steps = options.steps, rows = steps * n
        var outputs = [[Float]?](repeating: nil, count: nodes.count)
        var sparse = [Bool](repeating: false, count: nodes.count)
        let lastUse = nodes.indices.map { i in nodes.indices.last { nodes[$0].inputs.contains(i) } ?? i }
        var result = SpikingBatchResult(scores: [])
        for (position, node) in nodes.enumerated() {
            let width = node.width, inputWidth = node.inputShape.reduce(1, *)
            // The summed output of the nodes feeding this one (one source: its output as is).
            var incoming: [Float] {
                guard let first = node.inputs.first else { return [] }
                var total = outputs[first]!
                for other in node.inputs.dropFirst() {
                    let more = outputs[other]!
                    for i in total.indices { total[i] += more[i] }
                }
                return total
            }
            let fromSpikes = !node.inputs.isEmpty && node.inputs.allSatisfy { sparse[$0] }
            var out: [Float]
            switch node.kind {
            case .input:
                (out, sparse[position]) = encode(input, samples: n, indices: indices, options: options)
            case .output:
                out = incoming
            case .affine(let weight, let bias):
                let incoming = incoming
                if record { result.synapseInputs[node.name] = Self.sumOverSteps(incoming, steps: steps, samples: n, width: inputWidth) }
                out = SpikingSynapses.affine(incoming, rows: rows, inputs: inputWidth, outputs: width, weight: weights[weight]!,
                                             columns: fromSpikes ? columns[weight] : nil, bias: bias.flatMap { weights[$0] })
            case .scale(let scale):
                out = incoming
                let factors = weights[scale]!
                out.withUnsafeMutableBufferPointer { v in
                    for row in 0..<rows { for j in 0..<width { v[row &* width &+ j] *= factors[j] } }
                }
            case .flatten:
                out = incoming
                sparse[position] = fromSpikes
            case .conv2d(let convolution):
                let incoming = incoming
                if record { result.synapseInputs[node.name] = Self.sumOverSteps(incoming, steps: steps, samples: n, width: inputWidth) }
                out = SpikingSynapses.convolve(incoming, rows: rows, input: node.inputShape, output: node.outputShape, convolution,
                                               weight: weights[convolution.weight]!, bias: convolution.bias.flatMap { weights[$0] })
            case .pool2d(let average, let kernel, let stride, let padding):
                out = SpikingSynapses.pool(incoming, rows: rows, input: node.inputShape, output: node.outputShape, average: average,
                                           kernel: kernel, stride: stride, padding: padding)
                sparse[position] = fromSpikes && !average
            case .lif, .integrateAndFire, .leakyIntegrator, .cubaLIF:
                out = SpikingNeurons.run(node, current: incoming, samples: n, options: options, weights: weights)
                sparse[position] = node.kind.spikes
                if record, node.kind.spikes {
                    result.activity[node.name] = Self.sumOverSteps(out, steps: steps, samples: n, width: width)
                    result.firstStep[node.name] = Self.sumOverSamples(out, step: 0, of: steps, samples: n, width: width)
                    result.lastStep[node.name] = Self.sumOverSamples(out, step: steps - 1, of: steps, samples: n, width: width)
                }
            }
            outputs[position] = out
            // A node's output is dropped once the last node reading it has run (the readout is kept).
            for earlier in node.inputs where lastUse[earlier] == position && earlier != readout { outputs[earlier] = nil }
        }
        let classes = self.classes, last = outputs[readout]!
        var scores = [Float](repeating: 0, count: n * classes)
        for s in 0..<n {
            for t in 0..<steps {
                for j in 0..<classes { scores[s * classes + j] += last[(s * steps + t) * classes + j] }
            }
        }
        if !nodes[readout].kind.spikes { for i in scores.indices { scores[i] /= Float(steps) } }
        result.scores = scores
        return result
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
        var sums = [Float](repeating: 0, count: n * w)
        values.withUnsafeBufferPointer { v in
            sums.withUnsafeMutableBufferPointer { sum in
                for s in 0..<n {
                    let total = sum.baseAddress! + s &* w
                    for t in 0..<steps {
                        let step = v.baseAddress! + (s &* steps &+ t) &* w
                        for j in 0..<w { total[j] += step[j] }
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
