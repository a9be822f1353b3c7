import Checkpoint
import Engine

/// `fisher-noise:alpha=A[,eps=E,clip=V,seed=S]` — Fisher forgetting in the manner of Golatkar et al.
/// (CVPR 2020): Gaussian noise whose variance is inversely proportional to the retain set's Fisher
/// diagonal, so weights the retained data does not pin down are scrambled most:
/// W' = W + sqrt(min(A / (F_retain + E), V))·z, z ~ N(0, 1). Defaults E = 1e-8 and V = 1000 (the
/// clamp of the authors' code). Deterministic for a seed: one stream per tensor name.
struct FisherNoisePass: TensorPass {
    static let name = "fisher-noise"
    static let usage = "fisher-noise:alpha=A[,eps=E,clip=V,seed=S]"
    static let summary = "add Gaussian noise with variance min(A/(F_retain+E), V) (Fisher from --stats or --data)"
    static let parameterNames = ["alpha", "eps", "clip", "seed"]

    let alpha: Double, epsilon: Double, clip: Double, seed: UInt64

    var requirements: Set<PassRequirement> { [.fisher(.retain)] }

    init(_ arguments: PassArguments) throws {
        let nonNegative = 0...Double.greatestFiniteMagnitude
        alpha = try arguments.double("alpha", positional: true, in: nonNegative)
        epsilon = try arguments.double("eps", default: 1e-8, in: Double.leastNonzeroMagnitude...Double.greatestFiniteMagnitude)
        clip = try arguments.double("clip", default: 1000, in: nonNegative)
        seed = try arguments.integer("seed", default: 0)
    }

    var parameters: [(name: String, value: String)] {
        [("alpha", "\(alpha)"), ("eps", "\(epsilon)"), ("clip", "\(clip)"), ("seed", "\(seed)")]
    }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.select(in: context) { StatisticsSchema.fisher(.retain, tensor: $0) }
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        guard let diagonal = context.companions.fisher[.retain] else { return }
        let (alpha, epsilon, clip) = (alpha, epsilon, clip)
        var random = SplitMix64(seed: seed ^ SplitMix64.fnv1a(tensor.name))
        for range in context.companions.slices(of: tensor.values.count) {
            let (retain, low) = (try diagonal.slice(range), range.lowerBound)
            tensor.update(range) { i, w in
                let variance = min(alpha / (max(retain[i - low], 0) + epsilon), clip)
                return w + variance.squareRoot() * random.nextGaussian()
            }
        }
    }
}
