import Checkpoint

/// `ssd:alpha=A,lambda=L` — Selective Synaptic Dampening (Foster, Schoepf, Brintrup, AAAI 2024), as
/// the official code does it: where the forget set's Fisher diagonal exceeds A times the full
/// training set's (F_forget > A·F_full), multiply the parameter by min(L·F_full/F_forget, 1).
/// Every kernel and bias that has both diagonals in `--stats` (`/fisher/forget`, `/fisher/full`).
/// Defaults are the paper's for full-class forgetting: A = 10, L = 1. `alpha=auto` or `lambda=auto`
/// searches for the weakest value that meets the policy (both: L = A/10 along the way).
struct SSDPass: TensorPass, TunablePass {
    static let name = "ssd"
    static let usage = "ssd[:alpha=A|auto,lambda=L|auto]"
    static let summary = "Selective Synaptic Dampening with Fisher diagonals from --stats or --data (defaults alpha=10, lambda=1)"
    static let parameterNames = ["alpha", "lambda"]

    var alpha: Double, lambda: Double
    /// Which settings are searched for.
    var autoAlpha = false, autoLambda = false

    var requirements: Set<PassRequirement> { [.fisher(.forget), .fisher(.full)] }

    init(_ arguments: PassArguments) throws {
        autoAlpha = arguments.isAuto("alpha", positional: true)
        autoLambda = arguments.isAuto("lambda")
        alpha = autoAlpha ? 10 : try arguments.double("alpha", positional: true, default: 10, in: 0...Double.greatestFiniteMagnitude)
        lambda = autoLambda ? 1 : try arguments.double("lambda", default: 1, in: 0...Double.greatestFiniteMagnitude)
    }

    var parameters: [(name: String, value: String)] {
        [("alpha", autoAlpha ? "auto" : "\(alpha)"), ("lambda", autoLambda ? "auto" : "\(lambda)")]
    }

    /// Smaller alpha selects more parameters; smaller lambda dampens them more.
    var search: StrengthScale? {
        if autoAlpha { return StrengthScale(parameter: "alpha", grid: [10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01]) }
        if autoLambda { return StrengthScale(parameter: "lambda", grid: [1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001]) }
        return nil
    }

    func with(_ value: Double) throws -> any Pass {
        var pass = self
        if autoAlpha {
            pass.alpha = value
            if autoLambda { pass.lambda = value / 10 }
        } else if autoLambda {
            pass.lambda = value
        }
        (pass.autoAlpha, pass.autoLambda) = (false, false)
        return pass
    }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.select(in: context) { StatisticsSchema.fisher(.forget, tensor: $0) }
    }

    func apply(to tensor: inout Tensor, context: PassContext) throws {
        let companions = context.companions
        guard let forgetDiagonal = companions.fisher[.forget], let fullDiagonal = companions.fisher[.full] else { return }
        let (alpha, lambda) = (alpha, lambda)
        for range in companions.slices(of: tensor.values.count) {
            let (forget, full, low) = (try forgetDiagonal.slice(range), try fullDiagonal.slice(range), range.lowerBound)
            // F_forget > 0 as well: diagonals are never negative, but a statistics file is input.
            let selected: [Int]
            if case .float32(let f) = forget, case .float32(let g) = full {
                selected = Self.selected(forget: f, full: g, alpha: alpha, from: low)
            } else {
                selected = range.filter { forget[$0 - low] > alpha * full[$0 - low] && forget[$0 - low] > 0 }
            }
            tensor.update(selected) { i, w in w * min(lambda * full[i - low] / forget[i - low], 1) }
        }
    }

    /// The flat indices (`low` + offset) where F_forget > alpha·F_full and F_forget > 0, the same
    /// test in Double as for any other diagonals, over float32 arrays in one tight loop (the usual
    /// statistics file's diagonals; through `TensorValues` each element's precision was looked at).
    static func selected(forget: [Float], full: [Float], alpha: Double, from low: Int) -> [Int] {
        var selected: [Int] = []
        for k in 0..<min(forget.count, full.count) {
            let f = Double(forget[k])
            if f > alpha * Double(full[k]) && f > 0 { selected.append(low + k) }
        }
        return selected
    }
}
