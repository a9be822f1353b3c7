import Checkpoint
import Engine

/// `randomize[:seed=N,bias=floor]` — replaces the forget classes' output weights and bias with
/// Gaussian draws whose mean and standard deviation are those of the same tensor's other classes,
/// so the class looks like an untrained unit of that layer (the randomising notebooks); its logit
/// lands near the layer's typical value, not below the others. With `bias=floor` its bias is set
/// below every other class's logit instead of drawn (see `BiasFloor`). Deterministic: the draws
/// for one class depend only on the seed, the tensor's name and the class (not on which other
/// classes are forgotten), and are the same bytes wherever the platform's `log` and `cos` agree.
struct RandomizePass: ClassUnitPass {
    static let name = "randomize"
    static let usage = "randomize[:seed=N,bias=floor,margin=M]"
    static let summary = "replace the forget classes' output weights and bias with draws matching the layer's own statistics"
    static let parameterNames = ["seed", "bias", "margin"]

    let seed: UInt64
    var floor: BiasFloor?

    init(_ arguments: PassArguments) throws {
        seed = try arguments.integer("seed", positional: true, default: 0)
        floor = try BiasFloor.parse(arguments)
    }

    var setsBiasFloor: Bool { floor != nil }
    var requirements: Set<PassRequirement> { floor == nil ? [] : [.logitsIfAvailable] }
    var parameters: [(name: String, value: String)] { [("seed", "\(seed)")] + (floor?.parameters ?? []) }

    func tensors(in context: PlanContext) throws -> [String] {
        try ClassUnits.tensors(in: context, pass: Self.name)
    }

    func prepared(for tensors: [String], target: ForgetTarget, reading companions: (String) throws -> (Tensor, Companions)) throws -> any TensorPass {
        var pass = self
        pass.floor = try preparedFloor(floor, for: tensors, classes: target.classes, reading: companions)
        return pass
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        guard !ClassUnits.applyFloor(floor, to: &tensor, context: context) else { return }
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
