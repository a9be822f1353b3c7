/// A layer that combines the outputs of several others (Keras' merging layers): forward over its
/// inputs, and backward from dL/d(output) to dL/d(each input).
protocol Merge: Sendable {
    var name: String { get }
    /// The output shape (without the batch axis) for the inputs' shapes; throws if they do not fit.
    func outputShape(for inputs: [[Int]], path: String) throws -> [Int]
    func forward(_ inputs: [Batch]) -> Batch
    /// dL/d(input i) for every input, nil where `needed[i]` is false.
    func backward(inputs: [Batch], output: Batch, gradient: Batch, needed: [Bool]) -> [Batch?]
}
