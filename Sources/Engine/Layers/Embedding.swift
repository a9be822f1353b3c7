/// Keras Embedding (`mask_zero` false): each id's row of the table (vocabulary × features). Ids
/// are read as Keras reads float ids on JAX: truncated toward zero, −V…−1 counting from the
/// end; any other id (or a NaN) gives a row of NaN, as JAX's lookup does, and no gradient.
struct Embedding: Layer {
    let name: String
    let table: [Float]
    let vocabulary: Int, features: Int
    let tableName: String

    var parameters: [(name: String, shape: [Int])] { [(tableName, [vocabulary, features])] }
    var weights: [String: [Float]] { [tableName: table] }

    func replacing(_ values: [String: [Float]]) -> any Layer {
        Embedding(name: name, table: replaced(table, tableName, in: values), vocabulary: vocabulary, features: features, tableName: tableName)
    }

    func outputShape(for input: [Int], path: String) throws -> [Int] { input + [features] }

    /// The table row of an id, nil for none.
    func row(_ id: Float) -> Int? {
        guard id.isFinite, id > -Float(vocabulary) - 1, id < Float(vocabulary) else { return nil }
        let index = Int(id)
        let row = index < 0 ? index + vocabulary : index
        return (0..<vocabulary).contains(row) ? row : nil
    }

    func forward(_ input: Batch) -> Batch {
        var out = [Float](repeating: .nan, count: input.values.count * features)
        table.withUnsafeBufferPointer { t in
            out.withUnsafeMutableBufferPointer { y in
                for (position, id) in input.values.enumerated() {
                    guard let row = row(id) else { continue }
                    for j in 0..<features { y[position &* features &+ j] = t[row &* features &+ j] }
                }
            }
        }
        return Batch(values: out, shape: input.shape + [features])
    }

    func backward(input: Batch, output: Batch, gradient: Batch, fusedSoftmax: Bool, inputGradient: Bool,
                  into sink: inout GradientSink) -> Batch? {
        let (n, positions) = (input.samples, input.width)
        for s in 0..<n {
            // A sample's gradient: each row it looked up gets the gradients of its positions, added.
            var rows: [Int: [Float]] = [:]
            for p in 0..<positions {
                guard let row = row(input.values[s * positions + p]) else { continue }
                let offset = (s * positions + p) * features
                rows[row, default: [Float](repeating: 0, count: features)].withUnsafeMutableBufferPointer { r in
                    for j in 0..<features { r[j] += gradient.values[offset + j] }
                }
            }
            sink.addSampleRows(tableName, size: table.count, width: features, rows: rows, n: n)
        }
        // Ids are not differentiable: nothing flows below.
        return inputGradient ? Batch(values: [Float](repeating: 0, count: input.values.count), shape: input.shape) : nil
    }
}
