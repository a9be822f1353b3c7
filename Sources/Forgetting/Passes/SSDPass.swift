import Checkpoint

/// `ssd:alpha=A,lambda=L` — Selective Synaptic Dampening (Foster, Schoepf, Brintrup, AAAI 2024), as
/// the official code does it: where the forget set's Fisher diagonal exceeds A times the full
/// training set's (F_forget > A·F_full), multiply the parameter by min(L·F_full/F_forget, 1).
/// Every kernel and bias that has both diagonals in `--stats` (`/fisher/forget`, `/fisher/full`).
/// Defaults are the paper's for full-class forgetting: A = 10, L = 1.
struct SSDPass: TensorPass {
    static let name = "ssd"
    static let usage = "ssd[:alpha=A,lambda=L]"
    static let summary = "Selective Synaptic Dampening with Fisher diagonals from --stats or --data (defaults alpha=10, lambda=1)"
    static let parameterNames = ["alpha", "lambda"]

    let alpha: Double, lambda: Double

    var requirements: Set<PassRequirement> { [.fisher(.forget), .fisher(.full)] }

    init(_ arguments: PassArguments) throws {
        alpha = try arguments.double("alpha", positional: true, default: 10, in: 0...Double.greatestFiniteMagnitude)
        lambda = try arguments.double("lambda", default: 1, in: 0...Double.greatestFiniteMagnitude)
    }

    var parameters: [(name: String, value: String)] { [("alpha", "\(alpha)"), ("lambda", "\(lambda)")] }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.select(in: context) { StatisticsSchema.fisher(.forget, tensor: $0) }
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        guard let forget = context.companions.fisher[.forget], let full = context.companions.fisher[.full] else { return }
        let (alpha, lambda) = (alpha, lambda)
        // F_forget > 0 as well: diagonals are never negative, but a statistics file is input.
        let selected = (0..<tensor.values.count).filter { forget[$0] > alpha * full[$0] && forget[$0] > 0 }
        tensor.update(selected) { i, w in w * min(lambda * full[i] / forget[i], 1) }
    }
}
