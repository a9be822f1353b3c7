/// One step of a model's graph: a layer, or a merge of several values, applied to values made
/// before it.
struct Node: Sendable {
    enum Operation: Sendable {
        case layer(any Layer)
        case merge(any Merge)
    }

    let operation: Operation
    /// The values it takes: 0 is the model's input, i + 1 the output of node i.
    let inputs: [Int]

    init(_ operation: Operation, inputs: [Int]) {
        self.operation = operation
        self.inputs = inputs
    }

    var name: String {
        switch operation {
        case .layer(let layer): layer.name
        case .merge(let merge): merge.name
        }
    }

    /// The shape it makes from the shapes of the values it takes.
    func outputShape(for inputs: [[Int]], path: String) throws -> [Int] {
        switch operation {
        case .layer(let layer):
            guard inputs.count == 1 else {
                throw EngineError.unsupportedOption(path: path, layer: layer.name, option: "\(inputs.count) inputs to a layer that takes one")
            }
            return try layer.outputShape(for: inputs[0], path: path)
        case .merge(let merge):
            return try merge.outputShape(for: inputs, path: path)
        }
    }

    /// The same step with the named tensors replaced.
    func replacing(_ values: [String: [Float]]) -> Node {
        guard case .layer(let layer) = operation else { return self }
        return Node(.layer(layer.replacing(values)), inputs: inputs)
    }
}

extension Network {
    /// The number of values of a shape, nil if it overflows.
    static func count(_ shape: [Int]) -> Int? {
        var product = 1
        for size in shape {
            let (next, overflow) = product.multipliedReportingOverflow(by: size)
            guard !overflow else { return nil }
            product = next
        }
        return product
    }

    /// Every value of the graph for `input`: the input first, then each node's output, the
    /// model's output last.
    func forwardAll(_ input: Batch) -> [Batch] { forwardAll(input, keeping: false).activations }

    /// `forwardAll`, with `keeping` also what each layer kept for its backward pass, by node
    /// (`Layer.forwardKeeping`; empty without `keeping`): for a `backpropagate` of the same batch.
    func forwardAll(_ input: Batch, keeping: Bool) -> (activations: [Batch], kept: [AnyObject?]) {
        var activations = [input]
        activations.reserveCapacity(nodes.count + 1)
        var kept = [AnyObject?](repeating: nil, count: keeping ? nodes.count : 0)
        for (index, node) in nodes.enumerated() {
            switch node.operation {
            case .layer(let layer) where keeping:
                let (output, memo) = layer.forwardKeeping(activations[node.inputs[0]])
                activations.append(output)
                kept[index] = memo
            case .layer(let layer): activations.append(layer.forward(activations[node.inputs[0]]))
            case .merge(let merge): activations.append(merge.forward(node.inputs.map { activations[$0] }))
            }
        }
        return (activations, kept)
    }

    /// Backpropagates dL/dz (z: the final softmax's input, one row per sample) through the graph,
    /// reporting every parameter's gradients to `sink`. Where a value feeds several nodes, their
    /// gradients with respect to it add up before it is passed on. `kept`: what `forwardAll(_:keeping:)`
    /// kept for these activations (empty: each layer recomputes what it needs); each layer's is
    /// released once its backward has run.
    func backpropagate(_ activations: [Batch], kept: [AnyObject?] = [], outputGradient: [Float], into sink: inout GradientSink) {
        precondition(kept.isEmpty || kept.count == nodes.count, "kept values for \(kept.count) of \(nodes.count) nodes")
        var kept = kept
        var gradients = [Batch?](repeating: nil, count: activations.count)
        gradients[activations.count - 1] = Batch(values: outputGradient, shape: activations.last!.shape)
        func add(_ gradient: Batch, to value: Int) {
            guard var sum = gradients[value] else { gradients[value] = gradient; return }
            sum.values.withUnsafeMutableBufferPointer { s in
                gradient.values.withUnsafeBufferPointer { g in for i in s.indices { s[i] += g[i] } }
            }
            gradients[value] = sum
        }
        for index in nodes.indices.reversed() {
            // Nothing below a value that no layer with parameters made needs a gradient.
            guard needsGradient[index + 1], let above = gradients[index + 1] else { continue }
            gradients[index + 1] = nil
            let node = nodes[index]
            switch node.operation {
            case .layer(let layer):
                let input = node.inputs[0]
                let memo = kept.isEmpty ? nil : kept[index]
                if !kept.isEmpty { kept[index] = nil }
                if let below = layer.backward(input: activations[input], output: activations[index + 1], gradient: above,
                                              fusedSoftmax: index == nodes.count - 1, inputGradient: needsGradient[input],
                                              kept: memo, into: &sink) {
                    add(below, to: input)
                }
            case .merge(let merge):
                let below = merge.backward(inputs: node.inputs.map { activations[$0] }, output: activations[index + 1], gradient: above,
                                           needed: node.inputs.map { needsGradient[$0] })
                for (input, gradient) in zip(node.inputs, below) {
                    if let gradient { add(gradient, to: input) }
                }
            }
        }
    }
}

extension Batch {
    /// Sample `index` alone, as a batch of one.
    func sample(_ index: Int) -> Batch {
        let width = self.width
        return Batch(values: Array(values[(index * width)..<((index + 1) * width)]), shape: [1] + shape.dropFirst())
    }
}
