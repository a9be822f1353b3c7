import Checkpoint
import Engine

/// The tensors a model reads, held in memory as the file stores them, with passes applied to them
/// in order: tensor passes edit them, model passes run on the network rebuilt from them. The model
/// stage of a run uses it before the stream writes them; the strength search uses it for trials.
public struct HeldModel {
    /// Tensors the model reads, edited so far, by name.
    public private(set) var tensors: [String: Tensor]
    /// The same tensors as read from the input (companions are loaded for those).
    let originals: [String: Tensor]
    let model: ModelStageInput

    /// Reads every tensor `model.network` reads from `checkpoint`.
    public init(model: ModelStageInput, checkpoint: any CheckpointFile) throws {
        let infos = Dictionary(checkpoint.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var originals: [String: Tensor] = [:]
        for name in model.model.weightNames {
            guard let info = infos[name] else { continue }
            originals[name] = try checkpoint.read(info)
        }
        self.originals = originals
        tensors = originals
        self.model = model
    }

    /// The model with the held tensors' current values.
    public func network() throws -> any ClassifierModel {
        try model.model.replacingWeights(tensors.mapValues(\.values.floats))
    }

    /// Applies `pass` (one of `plan`'s steps, or a stand-in for one) to the held tensors among
    /// `names`, and returns what it did.
    public mutating func apply(_ pass: any Pass, spec: PassSpec, to names: [String], plan: ForgettingPlan) throws -> PassReport {
        var report = PassReport(name: pass.name, spec: spec.text, parameters: pass.parameters, edits: [])
        switch pass {
        case let pass as any TensorPass:
            let loader = CompanionLoader(layout: plan.layout, inputs: plan.inputs)
            for name in names {
                guard var tensor = tensors[name], let layout = plan.layout.tensors[name] else { continue }
                let companions = try loader.load(pass.requirements, for: originals[name]!, keepingOriginal: true)
                tensor.changes = ChangeTally()
                try pass.apply(to: &tensor, context: PassContext(tensor: layout, target: plan.target, companions: companions))
                report.edits.append(TensorEdit(tensor: name, changes: tensor.changes))
                tensors[name] = tensor
            }
        case let pass as any ModelPass:
            let result = try pass.run(ModelPassContext(model: try network(), data: model.data, target: plan.target, tensors: names))
            for name in names {
                guard var tensor = tensors[name] else { continue }
                tensor.changes = ChangeTally()
                if let values = result.values[name] {
                    guard values.count == tensor.info.count else {
                        throw PassError.malformed(spec: spec.text, reason: "returned \(values.count) values for \(name) of shape \(tensor.shape)")
                    }
                    tensor.update(0..<values.count) { i, _ in Double(values[i]) }
                }
                report.edits.append(TensorEdit(tensor: name, changes: tensor.changes))
                tensors[name] = tensor
            }
            report.details = result.details
        default:
            break
        }
        return report
    }

    /// The held tensor of that name, if the model holds it (each is taken once).
    mutating func take(_ name: String) -> Tensor? {
        tensors.removeValue(forKey: name)
    }
}

extension TensorValues {
    /// The values as float32 (float64 tensors are narrowed), as the engine computes.
    var floats: [Float] {
        switch self {
        case .float32(let values): values
        case .float64(let values): values.map(Float.init)
        }
    }
}
