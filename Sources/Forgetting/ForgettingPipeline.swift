import Checkpoint
import Engine

/// The model and data that model passes run on: the model the engine rebuilt from the input and
/// the run's data splits.
public struct ModelStageInput {
    public let model: any ClassifierModel
    public let data: DataSplits

    public init(model: any ClassifierModel, data: DataSplits) {
        self.model = model
        self.data = data
    }
}

/// Runs a plan: first the model passes, in memory, with every pass before the last of them; then
/// one stream over the checkpoint, writing each tensor with the remaining passes applied in order.
/// The output is written through `output` (committed by the caller).
public enum ForgettingPipeline {
    /// `inputSinks` and `outputSinks` (by file path) see the files' bytes where the backend streams
    /// them; `model` is needed when the plan has model passes.
    public static func run(_ plan: ForgettingPlan, on checkpoint: any CheckpointFile, to destination: String,
                           in output: OutputTransaction, model: ModelStageInput? = nil,
                           inputSinks: [String: any ByteSink] = [:], outputSinks: [String: any ByteSink] = [:],
                           progress: RewriteProgress = { _, _ in }) throws -> RunReport {
        let plan = plan.isPrepared ? plan : try plan.prepared(checkpoint: checkpoint)
        var reports = plan.steps.map { PassReport(name: $0.pass.name, spec: $0.spec.text, parameters: $0.pass.parameters, edits: []) }
        let loader = CompanionLoader(layout: plan.layout, inputs: plan.inputs)
        // Model passes and the passes before them run first, on the tensors the model holds.
        var stage = try ModelStage(plan: plan, checkpoint: checkpoint, model: model, loader: loader, reports: &reports)
        let streamed = stage?.firstStreamedStep ?? 0
        var stepsOfTensor: [String: [Int]] = [:]
        for index in plan.steps.indices {
            guard plan.steps[index].pass is any TensorPass else { continue }
            for name in plan.steps[index].tensors { stepsOfTensor[name, default: []].append(index) }
        }
        var rewrite = plan.rewrite
        rewrite.inputSinks = inputSinks
        rewrite.outputSinks = outputSinks
        var warnings = stage?.warnings ?? []
        try checkpoint.rewrite(to: destination, in: output, plan: rewrite, progress: progress) { tensor in
            guard let layout = plan.layout.tensors[tensor.name] else { return }
            var steps = stepsOfTensor[tensor.name] ?? []
            if stage?.holds(tensor.name) != true, let note = try NonFiniteValues.check(tensor, in: checkpoint.path, allowed: plan.allowNonFinite) {
                warnings.append(note)
            }
            // The input's values are kept beside the tensor only where a pass may see the tensor
            // changed by passes before it: a second copy of every tensor would double the memory.
            var original: Tensor?
            if let held = stage?.take(tensor.name) {
                original = tensor
                tensor = held
                steps = steps.filter { $0 >= streamed }
            }
            let companions = try loader.load(steps.reduce(into: Set()) { $0.formUnion(plan.steps[$1].pass.requirements) },
                                             for: original ?? tensor, keepingOriginal: original != nil || steps.count > 1)
            original = nil
            for step in steps {
                guard let pass = plan.steps[step].pass as? any TensorPass else { continue }
                tensor.changes = ChangeTally()
                try pass.apply(to: &tensor, context: PassContext(tensor: layout, target: plan.target, companions: companions))
                reports[step].edits.append(TensorEdit(tensor: tensor.name, changes: tensor.changes))
                warnings += NonFiniteValues.notes(reports[step].edits.last!, pass: plan.steps[step].spec.text, dtype: tensor.info.dtype)
            }
        }
        stage = nil
        let dropped = checkpoint.tensors.filter { info in plan.droppedGroups.contains { info.name.hasPrefix($0 + "/") } }
        var report = RunReport(input: checkpoint.path, output: destination, format: checkpoint.format,
                               outputFiles: checkpoint.outputFiles(for: destination), classes: plan.target.classes,
                               outputLayer: plan.outputLayer, passes: reports, optimizerGroups: plan.layout.optimizerGroups,
                               droppedGroups: plan.droppedGroups, droppedTensors: dropped)
        report.warnings = warnings
        return report
    }
}

/// The in-memory part of a run with model passes: every tensor the model reads, with every pass up
/// to the last model pass applied in order (see `HeldModel`). The stream then writes these tensors
/// as held here.
private struct ModelStage {
    private var held: HeldModel
    /// The first step the stream applies to held tensors (the one after the last model pass).
    let firstStreamedStep: Int
    /// Non-finite values found in the held tensors (with `allowNonFinite`) and made by its passes.
    private(set) var warnings: [String] = []
    private let heldNames: Set<String>

    init?(plan: ForgettingPlan, checkpoint: any CheckpointFile, model: ModelStageInput?, loader: CompanionLoader,
          reports: inout [PassReport]) throws {
        guard let last = plan.steps.lastIndex(where: { $0.pass is any ModelPass }) else { return nil }
        guard let model else { throw PassError.needsData(pass: plan.steps[last].pass.name) }
        firstStreamedStep = last + 1
        held = try HeldModel(model: model, checkpoint: checkpoint)
        heldNames = Set(held.tensors.keys)
        // NaN or infinity in any tensor the model reads would spread through everything it computes.
        for name in held.tensors.keys.sorted() {
            if let note = try NonFiniteValues.check(held.tensors[name]!, in: checkpoint.path, allowed: plan.allowNonFinite) { warnings.append(note) }
        }
        for index in 0...last {
            let step = plan.steps[index]
            let report = try held.apply(step.pass, spec: step.spec, to: step.tensors, plan: plan)
            reports[index].edits = report.edits
            reports[index].details = report.details
            for edit in report.edits {
                warnings += NonFiniteValues.notes(edit, pass: step.spec.text, dtype: held.tensors[edit.tensor]?.info.dtype)
            }
        }
    }

    /// Whether the stage read this tensor (and so checked it).
    func holds(_ name: String) -> Bool { heldNames.contains(name) }

    /// The held tensor of that name, if the model holds it (each is taken once).
    mutating func take(_ name: String) -> Tensor? {
        held.take(name)
    }
}
