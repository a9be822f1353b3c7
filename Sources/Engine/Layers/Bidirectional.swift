/// Keras Bidirectional: a recurrent layer over the sequence and another over it backwards (its
/// outputs turned back into the sequence's order when it returns sequences), merged by `mode`.
struct Bidirectional: Layer {
    enum Mode: String, Sendable { case concat, sum, ave, mul }

    let name: String
    let forwardLayer: Recurrent, backwardLayer: Recurrent
    let mode: Mode

    var parameters: [(name: String, shape: [Int])] { forwardLayer.parameters + backwardLayer.parameters }
    var weights: [String: [Float]] { forwardLayer.weights.merging(backwardLayer.weights) { first, _ in first } }

    func replacing(_ values: [String: [Float]]) -> any Layer {
        Bidirectional(name: name, forwardLayer: forwardLayer.with(values), backwardLayer: backwardLayer.with(values), mode: mode)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        let (forward, backward) = (try forwardLayer.outputShape(for: input, path: path), try backwardLayer.outputShape(for: input, path: path))
        guard forward.count == backward.count, forward.dropLast() == backward.dropLast(), mode == .concat || forward == backward else {
            throw EngineError.shapeMismatch(path: path, layer: name, expected: forward, actual: backward)
        }
        return forward.dropLast() + [mode == .concat ? forward.last! + backward.last! : forward.last!]
    }

    /// Rows of `width` (one per step of each sample) in reverse step order, when the layer returns sequences.
    private func flipped(_ values: [Float], samples: Int, width: Int) -> [Float] {
        guard backwardLayer.returnSequences else { return values }
        let steps = values.count / max(samples * width, 1)
        var out = values
        for s in 0..<samples {
            for t in 0..<steps {
                let (to, from) = ((s * steps + t) * width, (s * steps + steps - 1 - t) * width)
                out.replaceSubrange(to..<(to + width), with: values[from..<(from + width)])
            }
        }
        return out
    }

    /// What `forwardKeeping` keeps: each direction's output and what its layer kept.
    final class Kept {
        let forward: (output: Batch, kept: AnyObject?), backward: (output: Batch, kept: AnyObject?)
        init(forward: (output: Batch, kept: AnyObject?), backward: (output: Batch, kept: AnyObject?)) {
            (self.forward, self.backward) = (forward, backward)
        }
    }

    func forward(_ input: Batch) -> Batch {
        merged(forwardLayer.forward(input), backwardLayer.forward(input), samples: input.samples)
    }

    func forwardKeeping(_ input: Batch) -> (output: Batch, kept: AnyObject?) {
        let (forward, backward) = (forwardLayer.forwardKeeping(input), backwardLayer.forwardKeeping(input))
        return (merged(forward.output, backward.output, samples: input.samples), Kept(forward: forward, backward: backward))
    }

    /// The two directions' outputs merged by `mode`, the backward one in the sequence's order.
    private func merged(_ forward: Batch, _ backwardOutput: Batch, samples: Int) -> Batch {
        let backward = flipped(backwardOutput.values, samples: samples, width: backwardLayer.units)
        let (a, b) = (forwardLayer.units, backwardLayer.units)
        var out: [Float]
        switch mode {
        case .concat:
            out = []
            out.reserveCapacity(forward.values.count + backward.count)
            for row in 0..<(forward.values.count / a) {
                out += forward.values[(row * a)..<((row + 1) * a)]
                out += backward[(row * b)..<((row + 1) * b)]
            }
        case .sum: out = zip(forward.values, backward).map { $0 + $1 }
        case .ave: out = zip(forward.values, backward).map { ($0 + $1) / 2 }
        case .mul: out = zip(forward.values, backward).map { $0 * $1 }
        }
        return Batch(values: out, shape: forward.shape.dropLast() + [mode == .concat ? a + b : a])
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        backward(input: input, output: output, gradient: gradient, fusedSoftmax: fusedSoftmax, inputGradient: inputGradient,
                 kept: nil, into: &sink)
    }

    /// Both directions backward, from what `forwardKeeping(input)` kept (a `Kept`), else from
    /// their forward passes run again.
    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  kept: AnyObject?, into sink: inout GradientSink) -> Batch? {
        let kept = (kept as? Kept) ?? Kept(forward: (forwardLayer.forward(input), nil), backward: (backwardLayer.forward(input), nil))
        let (forward, backward) = (kept.forward.output, kept.backward.output)
        let (a, b) = (forwardLayer.units, backwardLayer.units)
        var forwardGradient: [Float], backwardGradient: [Float]  // the latter in the sequence's order
        switch mode {
        case .concat:
            (forwardGradient, backwardGradient) = ([], [])
            for row in 0..<(gradient.values.count / (a + b)) {
                forwardGradient += gradient.values[(row * (a + b))..<(row * (a + b) + a)]
                backwardGradient += gradient.values[(row * (a + b) + a)..<((row + 1) * (a + b))]
            }
        case .sum: (forwardGradient, backwardGradient) = (gradient.values, gradient.values)
        case .ave: forwardGradient = gradient.values.map { $0 / 2 }; backwardGradient = forwardGradient
        case .mul:
            let reversed = flipped(backward.values, samples: input.samples, width: b)
            forwardGradient = zip(gradient.values, reversed).map { $0 * $1 }
            backwardGradient = zip(gradient.values, forward.values).map { $0 * $1 }
        }
        let fromForward = forwardLayer.backward(input: input, output: forward, gradient: Batch(values: forwardGradient, shape: forward.shape),
                                                fusedSoftmax: false, inputGradient: inputGradient, kept: kept.forward.kept, into: &sink)
        let fromBackward = backwardLayer.backward(input: input, output: backward,
                                                  gradient: Batch(values: flipped(backwardGradient, samples: input.samples, width: b), shape: backward.shape),
                                                  fusedSoftmax: false, inputGradient: inputGradient, kept: kept.backward.kept, into: &sink)
        guard let fromForward, let fromBackward else { return nil }
        return Batch(values: zip(fromForward.values, fromBackward.values).map { $0 + $1 }, shape: input.shape)
    }
}
