/// Keras SimpleRNN, LSTM and GRU (Keras 3's GRU: `reset_after`) over sequences (samples, steps,
/// features), from a zero state, as Keras 3 computes them: the input projection x·W (+ b) of every
/// step in one product, then step by step h·R and the cell's gates (`Recurrent+Cells.swift`);
/// backward by backpropagation through time, the kernels' gradients in one product each over all
/// steps. With `goBackwards` the steps are taken last to first and the outputs are in that order.
struct Recurrent: Layer {
    enum Cell: Sendable { case simple, lstm, gru }

    let name: String
    let cell: Cell
    let kernel: [Float], recurrentKernel: [Float]
    /// gates · units values; a GRU's two rows of them (input bias, recurrent bias).
    let bias: [Float]?
    let features: Int, units: Int
    let activation: ActivationFunction, recurrentActivation: ActivationFunction
    let returnSequences: Bool, goBackwards: Bool
    let kernelName: String, recurrentName: String, biasName: String?
    let biasShape: [Int]
    /// A Keras 2 CuDNNLSTM's weights as its file holds them (the layer computes with their LSTM
    /// form); nil for the other layers, whose files hold what they compute with.
    var cudnn: CuDNNWeights? = nil

    var gates: Int {
        switch cell {
        case .simple: 1
        case .lstm: 4
        case .gru: 3
        }
    }

    var parameters: [(name: String, shape: [Int])] {
        [(kernelName, [features, gates * units]), (recurrentName, [units, gates * units])] + (biasName.map { [($0, biasShape)] } ?? [])
    }

    var weights: [String: [Float]] {
        var weights = [kernelName: cudnn?.kernel ?? kernel, recurrentName: cudnn?.recurrentKernel ?? recurrentKernel]
        if let biasName, let bias { weights[biasName] = cudnn?.bias ?? bias }
        return weights
    }

    func replacing(_ values: [String: [Float]]) -> any Layer { with(values) }

    /// `replacing` as a Recurrent.
    func with(_ values: [String: [Float]]) -> Recurrent {
        if let cudnn {
            let file = cudnn.replacing(values, kernelName: kernelName, recurrentName: recurrentName, biasName: biasName)
            let lstm = file.lstm
            return Recurrent(name: name, cell: cell, kernel: lstm.kernel, recurrentKernel: lstm.recurrentKernel, bias: lstm.bias,
                             features: features, units: units, activation: activation, recurrentActivation: recurrentActivation,
                             returnSequences: returnSequences, goBackwards: goBackwards, kernelName: kernelName, recurrentName: recurrentName,
                             biasName: biasName, biasShape: biasShape, cudnn: file)
        }
        return Recurrent(name: name, cell: cell, kernel: replaced(kernel, kernelName, in: values),
                  recurrentKernel: replaced(recurrentKernel, recurrentName, in: values), bias: bias.map { replaced($0, biasName, in: values) },
                  features: features, units: units, activation: activation, recurrentActivation: recurrentActivation,
                  returnSequences: returnSequences, goBackwards: goBackwards, kernelName: kernelName, recurrentName: recurrentName,
                  biasName: biasName, biasShape: biasShape)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        guard input.count == 2, input[1] == features else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: [-1, features], actual: input)
        }
        return returnSequences ? [input[0], units] : [units]
    }

    /// The bias added to the input projection (a GRU's first row), and a GRU's recurrent bias.
    var inputBias: [Float]? { cell == .gru ? bias.map { Array($0.prefix(gates * units)) } : bias }
    var recurrentBias: [Float]? { cell == .gru ? bias.map { Array($0.suffix(gates * units)) } : nil }

    /// The sequences in the order the steps take them.
    func ordered(_ values: [Float], samples: Int, steps: Int, width: Int) -> [Float] {
        guard goBackwards else { return values }
        var out = values
        for s in 0..<samples {
            for t in 0..<steps {
                let (to, from) = ((s * steps + t) * width, (s * steps + steps - 1 - t) * width)
                out.replaceSubrange(to..<(to + width), with: values[from..<(from + width)])
            }
        }
        return out
    }

    /// What a forward pass keeps for the backward one, step-major: h_t and (LSTM) c_t for t = 0…T
    /// (zeros first); each step's gates after their activations and, when asked for, before them
    /// (else `gates` is empty); an LSTM's a(c_t) for t = 1…T. Made for one step, it is a forward's
    /// working state. Buffers it owns, released with it.
    final class Trace {
        let h: UnsafeMutableBufferPointer<Float>, c: UnsafeMutableBufferPointer<Float>
        let gates: UnsafeMutableBufferPointer<Float>, activated: UnsafeMutableBufferPointer<Float>
        let squashed: UnsafeMutableBufferPointer<Float>
        /// GRU: each step's h·R + recurrent bias (its candidate's part before the reset gate).
        let recurrent: UnsafeMutableBufferPointer<Float>

        init(_ cell: Cell, samples n: Int, steps: Int, units: Int, width: Int, preActivations: Bool) {
            func zeros(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
                let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
                buffer.initialize(repeating: 0)
                return buffer
            }
            h = zeros((steps + 1) * n * units)
            c = zeros(cell == .lstm ? (steps + 1) * n * units : 0)
            (gates, activated) = (zeros(preActivations ? steps * n * width : 0), zeros(steps * n * width))
            squashed = zeros(cell == .lstm ? steps * n * units : 0)
            recurrent = zeros(cell == .gru ? steps * n * width : 0)
        }

        deinit { for buffer in [h, c, gates, activated, squashed, recurrent] { buffer.deallocate() } }
    }

    /// The steps over `input`. Keeping, the trace holds every step for the backward pass; else it
    /// holds one step and its state, overwritten step after step (a forward alone: no memory that
    /// grows with the steps, the same values).
    func run(_ input: Batch, keeping: Bool) -> (output: [Float], trace: Trace, sequence: [Float]) {
        let (n, steps) = (input.samples, input.shape[1])
        let width = gates * units
        let sequence = ordered(input.values, samples: n, steps: steps, width: features)
        // x·W (+ b): with a bias, the product adds itself onto rows holding it (no zeroing, no second pass).
        var projection: [Float]
        if let inputBias {
            projection = [Float](rows: inputBias, count: n * steps)
            GEMM.add(sequence, times: kernel, to: &projection, m: n * steps, n: width, k: features)
        } else {
            projection = GEMM.product(sequence, kernel, m: n * steps, n: width, k: features)
        }
        let trace = Trace(cell, samples: n, steps: keeping ? steps : min(steps, 1), units: units, width: width,
                          preActivations: cell == .gru || (keeping && keepsPreActivations))
        var recurrent = [Float](repeating: 0, count: cell == .gru ? n * width : 0)
        var output = [Float](repeating: 0, count: returnSequences ? n * steps * units : 0)
        let recurrentBias = recurrentBias
        projection.withUnsafeMutableBufferPointer { p in
            recurrentKernel.withUnsafeBufferPointer { kernel in
                recurrent.withUnsafeMutableBufferPointer { r in
                    for t in 0..<steps where n > 0 {
                        let slot = keeping ? t : 0
                        let previous = trace.h.baseAddress! + slot * n * units
                        if cell == .gru {
                            GEMM.multiply(previous, kernel.baseAddress!, into: r.baseAddress!, m: n, n: width, k: units)
                            if let recurrentBias {
                                for s in 0..<n { for j in 0..<width { r[s &* width &+ j] += recurrentBias[j] } }
                            }
                        } else if steps * width <= Int(Int32.max) {
                            // The product adds h_{t−1}·R into step t's rows (s·steps + t) of the projection.
                            GEMM.multiply(previous, kernel.baseAddress!, into: p.baseAddress! + t * width, m: n, n: width, k: units,
                                          beta: 1, rowStride: steps * width)
                        } else {  // rows too far apart for BLAS's 32-bit stride: one product per sample
                            for s in 0..<n {
                                GEMM.multiply(previous + s * units, kernel.baseAddress!, into: p.baseAddress! + (s * steps + t) * width,
                                              m: 1, n: width, k: units, beta: 1)
                            }
                        }
                        step(t, slot: slot, projection: p.baseAddress!, recurrent: r.baseAddress.map { UnsafePointer($0) }, samples: n,
                             steps: steps, trace: trace)
                        let next = trace.h.baseAddress! + (slot + 1) * n * units
                        if returnSequences {
                            output.withUnsafeMutableBufferPointer { out in
                                for s in 0..<n { (out.baseAddress! + (s * steps + t) * units).update(from: next + s * units, count: units) }
                            }
                        }
                        if !keeping {  // h_t and c_t become the next step's h_{t−1} and c_{t−1}
                            trace.h.baseAddress!.update(from: next, count: n * units)
                            if cell == .lstm { trace.c.baseAddress!.update(from: trace.c.baseAddress! + n * units, count: n * units) }
                        }
                    }
                }
            }
        }
        if !returnSequences {
            let last = (keeping ? steps : 0) * n * units
            output = Array(trace.h[last..<(last + n * units)])
        }
        return (output, trace, sequence)
    }

    /// What `forwardKeeping` keeps for the backward pass: the trace of the steps and the input in
    /// the order they took it.
    final class Kept {
        let trace: Trace, sequence: [Float]
        init(trace: Trace, sequence: [Float]) { (self.trace, self.sequence) = (trace, sequence) }
    }

    func forward(_ input: Batch) -> Batch { batch(run(input, keeping: false).output, of: input) }

    func forwardKeeping(_ input: Batch) -> (output: Batch, kept: AnyObject?) {
        let (output, trace, sequence) = run(input, keeping: true)
        return (batch(output, of: input), Kept(trace: trace, sequence: sequence))
    }

    private func batch(_ output: [Float], of input: Batch) -> Batch {
        Batch(values: output, shape: returnSequences ? [input.samples, input.shape[1], units] : [input.samples, units])
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        backward(input: input, output: output, gradient: gradient, fusedSoftmax: fusedSoftmax, inputGradient: inputGradient,
                 kept: nil, into: &sink)
    }

    /// Backpropagation through time over the forward's trace: `kept` (a `Kept` from
    /// `forwardKeeping(input)`), else the forward run again; a CuDNNLSTM's gradients are moved into
    /// its file's layout.
    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  kept: AnyObject?, into sink: inout GradientSink) -> Batch? {
        guard let cudnn else {
            return backwardThroughTime(input: input, gradient: gradient, inputGradient: inputGradient, kept: kept, into: &sink)
        }
        // The gradients in the LSTM's layout, moved into the file's.
        var own = GradientSink(mode: sink.mode)
        let below = backwardThroughTime(input: input, gradient: gradient, inputGradient: inputGradient, kept: kept, into: &own)
        for (name, values) in own.contributions {
            switch name {
            case kernelName: sink.add(name, cudnn.fileLayout(kernel: values))
            case recurrentName: sink.add(name, cudnn.fileLayout(recurrentKernel: values))
            default: sink.add(name, cudnn.fileLayout(bias: values))  // the bias, the only other
            }
        }
        return below
    }

    private func backwardThroughTime(input: Batch, gradient: Batch, inputGradient: Bool, kept: AnyObject?,
                                     into sink: inout GradientSink) -> Batch? {
        let (n, steps) = (input.samples, input.shape[1])
        let width = gates * units
        let (trace, sequence) = (kept as? Kept).map { ($0.trace, $0.sequence) } ?? { let run = run(input, keeping: true); return (run.trace, run.sequence) }()
        // dL/d(pre-activations), sample-major rows (s, t): of the input projection and of h·R.
        var inputDeltas = [Float](repeating: 0, count: n * steps * width)
        var recurrentDeltas = cell == .gru ? inputDeltas : []
        var previous = [Float](repeating: 0, count: n * steps * units)  // h_{t−1}, rows (s, t)
        // dL/dh_t, dL/dc_t and one step's deltas, reused from step to step (at least one value each,
        // so that every buffer has an address).
        var dh = [Float](repeating: 0, count: max(n * units, 1)), dc = dh
        var stepDeltas = [Float](repeating: 0, count: max(n * width, 1)), stepRecurrent = stepDeltas
        for t in (0..<steps).reversed() where n > 0 {
            for s in 0..<n {
                let above = returnSequences ? (s * steps + t) * units : (t == steps - 1 ? s * units : -1)
                if above >= 0 { for j in 0..<units { dh[s * units + j] += gradient.values[above + j] } }
                let from = (t * n + s) * units
                previous.replaceSubrange(((s * steps + t) * units)..<((s * steps + t + 1) * units), with: trace.h[from..<(from + units)])
            }
            dh.withUnsafeMutableBufferPointer { dh in
                dc.withUnsafeMutableBufferPointer { dc in
                    stepDeltas.withUnsafeMutableBufferPointer { deltas in
                        stepRecurrent.withUnsafeMutableBufferPointer { recurrentDeltas in
                            backStep(t, samples: n, trace: trace, dh: dh.baseAddress!, dc: dc.baseAddress!,
                                     deltas: deltas.baseAddress!, recurrentDeltas: recurrentDeltas.baseAddress!)
                            // dh_{t−1} gets the recurrent product's share (backStep left the direct paths in dh).
                            recurrentKernel.withUnsafeBufferPointer { kernel in
                                GEMM.multiply((cell == .gru ? recurrentDeltas : deltas).baseAddress!, kernel.baseAddress!, transposeB: true,
                                              into: dh.baseAddress!, m: n, n: units, k: width, beta: 1)
                            }
                        }
                    }
                }
            }
            for s in 0..<n {
                let row = (s * steps + t) * width
                inputDeltas.replaceSubrange(row..<(row + width), with: stepDeltas[(s * width)..<((s + 1) * width)])
                if cell == .gru { recurrentDeltas.replaceSubrange(row..<(row + width), with: stepRecurrent[(s * width)..<((s + 1) * width)]) }
            }
        }
        let recurrentSide = cell == .gru ? recurrentDeltas : inputDeltas
        sink.addPositional(kernelName, inputs: sequence, deltas: inputDeltas, n: n, positions: steps, k: features, f: width)
        sink.addPositional(recurrentName, inputs: previous, deltas: recurrentSide, n: n, positions: steps, k: units, f: width)
        if let biasName {
            if cell == .gru {
                // Per sample: the input deltas summed over steps, then the recurrent ones.
                var perSample = [Float](repeating: 0, count: n * 2 * width)
                for s in 0..<n {
                    for t in 0..<steps {
                        let row = (s * steps + t) * width
                        for j in 0..<width {
                            perSample[s * 2 * width + j] += inputDeltas[row + j]
                            perSample[s * 2 * width + width + j] += recurrentDeltas[row + j]
                        }
                    }
                }
                sink.addPerSample(biasName, gradients: perSample, size: 2 * width)
            } else {
                sink.addPositionalSums(biasName, deltas: inputDeltas, n: n, positions: steps, f: width)
            }
        }
        guard inputGradient else { return nil }
        let back = GEMM.product(inputDeltas, kernel, transposeB: true, m: n * steps, n: features, k: width)
        return Batch(values: ordered(back, samples: n, steps: steps, width: features), shape: input.shape)
    }
}
