import Checkpoint

/// The output units of the forget classes: shared by the passes that edit a class's weights
/// (`dampen`, `zero`, `randomize`, `suppress`). They touch the output layer's kernel (a Keras
/// kernel's column, a PyTorch weight's row) and its bias entry, nothing else.
enum ClassUnits {
    /// The output layer's kernel and bias, after checking every class is one of its units.
    static func tensors(in context: PlanContext, pass: String) throws -> [String] {
        guard !context.target.classes.isEmpty else { throw PassError.needsClass(pass: pass) }
        let layer = try context.outputLayer()
        let units = layer.outputUnits ?? 0
        if let bad = context.target.classes.first(where: { $0 >= units }) {
            throw PassError.classOutOfRange(class: bad, layer: layer.name, units: units, path: context.layout.path)
        }
        return layer.unitTensors.map(\.info.name)
    }

    /// The flat indices of every forget class's slice of `tensor`.
    static func indices(of tensor: Tensor, context: PassContext) -> [Int] {
        guard let axis = context.tensor.classAxis else { return [] }
        return Array(Set(context.target.classes)).sorted().flatMap { AxisSlice(shape: tensor.shape, axis: axis, index: $0) }
    }

    /// Sets the forget classes' bias entries to the chosen floor; true when `tensor` is a bias.
    static func applyFloor(_ floor: BiasFloor?, to tensor: inout Tensor, context: PassContext) -> Bool {
        guard let floor, let value = floor.value, context.tensor.role == .bias else { return false }
        tensor.update(indices(of: tensor, context: context)) { _ in value }
        return true
    }
}

/// A class pass's rule for the forget classes' bias entries: the pass's own (scaled, zeroed,
/// drawn), or the floor: a value below every other class's logit, so the class is never predicted.
///
/// With data (`--data`, or `--stats` holding `/logits/full/min`), the floor is the lowest logit of
/// any other class over the data minus a margin; without, it is −10000: far below any logit seen in
/// practice, exactly representable enough in float16 and bfloat16 (whose largest finite value is
/// 65504 and about 3.4e38), and e^−10000 is 0 in float32, so softmax gives the class 0 and
/// log-softmax a finite −10000 − logsumexp, with no overflow and no NaN.
struct BiasFloor: Sendable, Equatable {
    static let withoutData = -10_000.0
    static let defaultMargin = 1.0

    let margin: Double
    /// The value chosen (by `prepared`), and whether it came from the data.
    var value: Double?
    var fromData = false

    /// `bias=floor` (with `margin=M`) in `arguments`, or nil when the pass keeps its own rule.
    static func parse(_ arguments: PassArguments, always: Bool = false) throws -> BiasFloor? {
        let margin = try arguments.double("margin", default: defaultMargin, in: 0...1e6)
        switch arguments.string("bias") {
        case nil where always: return BiasFloor(margin: margin)
        case nil:
            if margin != defaultMargin { throw PassError.malformed(spec: arguments.spec.text, reason: "margin applies with bias=floor") }
            return nil
        case "floor": return BiasFloor(margin: margin)
        case let other?: throw PassError.badValue(spec: arguments.spec.text, key: "bias", value: other, expected: "floor")
        }
    }

    /// The floor for `classes`, from the data's logits when `companions` has them.
    func chosen(classes: [Int], companions: Companions) -> BiasFloor {
        var chosen = self
        chosen.value = Self.withoutData
        if let minimum = companions.logitMinimum {
            let others = minimum.indices.filter { !classes.contains($0) }.map { minimum[$0] }.filter(\.isFinite)
            if let lowest = others.min() {
                chosen.value = lowest - margin
                chosen.fromData = true
            }
        }
        return chosen
    }

    var parameters: [(name: String, value: String)] {
        [("bias", "floor"), ("margin", "\(margin)")] + (value.map { [("bias_floor", "\($0)"), ("floor_from", fromData ? "data" : "default")] } ?? [])
    }
}

/// A pass that edits the forget classes' output units (`dampen`, `zero`, `randomize`, `suppress`).
public protocol ClassUnitPass: TensorPass {
    /// Whether it sets the forget classes' bias below every other class's logit (`bias=floor`);
    /// otherwise their logit ends up near 0, which on a softmax head can make the class more likely.
    var setsBiasFloor: Bool { get }
}

extension ClassUnitPass {
    /// The bias floor chosen from the companions of the first bias it edits.
    func preparedFloor(_ floor: BiasFloor?, for tensors: [String], classes: [Int],
                       reading companions: (String) throws -> (Tensor, Companions)) throws -> BiasFloor? {
        guard let floor, let name = tensors.first else { return floor }  // the logits are the same for every tensor
        return floor.chosen(classes: classes, companions: try companions(name).1)
    }
}
