import Checkpoint
import Engine

/// `randomize[:seed=N]` — replaces the forget classes' output weights and bias with Gaussian draws
/// whose mean and standard deviation are those of the same tensor's other classes, so the class
/// looks like an untrained unit of that layer. Deterministic: the draws for one class depend only
/// on the seed, the tensor's name and the class (not on which other classes are forgotten), and are
/// the same bytes wherever the platform's `log` and `cos` agree.
struct RandomizePass: TensorPass {
    static let name = "randomize"
    static let usage = "randomize[:seed=N]"
    static let summary = "replace the forget classes' output weights and bias with draws matching the layer's own statistics"
    static let parameterNames = ["seed"]

    let seed: UInt64

    init(_ arguments: PassArguments) throws {
        seed = try arguments.integer("seed", positional: true, default: 0)
    }

    var parameters: [(name: String, value: String)] { [("seed", "\(seed)")] }

    func tensors(in context: PlanContext) throws -> [String] {
        try ClassUnits.tensors(in: context, pass: Self.name)
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        let forget = ClassUnits.indices(of: tensor, context: context)
        guard let axis = context.tensor.classAxis else { return }
        let excluded = Set(forget)
        let values = tensor.values
        let statistics = MeanAndDeviation(values.indices.lazy.filter { !excluded.contains($0) }.map { values[$0] })
            ?? MeanAndDeviation(values.indices.lazy.map { values[$0] })
            ?? MeanAndDeviation(mean: 0, deviation: 0)
        for unit in Set(context.target.classes).sorted() {
            var random = SplitMix64(seed: seed ^ SplitMix64.fnv1a("\(tensor.name)#\(unit)"))
            tensor.update(AxisSlice(shape: tensor.shape, axis: axis, index: unit)) { _ in
                statistics.mean + statistics.deviation * random.nextGaussian()
            }
        }
    }
}

/// Population mean and standard deviation (nil for no values).
struct MeanAndDeviation {
    let mean: Double, deviation: Double

    init(mean: Double, deviation: Double) {
        self.mean = mean
        self.deviation = deviation
    }

    init?<S: Sequence<Double>>(_ values: S) {
        var count = 0.0, mean = 0.0, m2 = 0.0
        for x in values {  // Welford: one pass, no cancellation
            count += 1
            let delta = x - mean
            mean += delta / count
            m2 += delta * (x - mean)
        }
        guard count > 0 else { return nil }
        self.mean = mean
        deviation = (m2 / count).squareRoot()
    }
}
