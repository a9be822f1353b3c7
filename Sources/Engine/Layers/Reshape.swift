/// Keras Reshape: the same values (row-major) under another shape; one size may be −1, the
/// rest of the values.
struct Reshape: Layer {
    let name: String
    let target: [Int]

    func outputShape(for input: [Int], path: String) throws -> [Int] {
        func refuse() -> EngineError {
            .unsupportedOption(path: path, layer: name, option: "target_shape \(target) for an input of shape \(input)")
        }
        guard let count = Network.count(input), target.allSatisfy({ $0 > 0 || $0 == -1 }), target.filter({ $0 == -1 }).count <= 1,
              let known = Network.count(target.filter { $0 != -1 }), known > 0, count % known == 0 else { throw refuse() }
        let shape = target.map { $0 == -1 ? count / known : $0 }
        guard Network.count(shape) == count else { throw refuse() }
        return shape
    }

    func forward(_ input: Batch) -> Batch {
        let known = target.filter { $0 != -1 }.reduce(1, *)
        return Batch(values: input.values, shape: [input.samples] + target.map { $0 == -1 ? input.width / known : $0 })
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        inputGradient ? Batch(values: gradient.values, shape: input.shape) : nil
    }
}
