import Checkpoint

/// What one pass did to one tensor, measured on the values as stored (after rounding to the
/// tensor's dtype), so it agrees with a later `diff` of the files.
public struct TensorEdit: Sendable, Equatable {
    public let tensor: String
    public let elementsChanged: Int
    /// L2 norm of the change.
    public let l2: Double
    /// Largest absolute change of one element.
    public let maxAbs: Double

    public init(tensor: String, changes: ChangeTally) {
        self.tensor = tensor
        elementsChanged = changes.elementsChanged
        l2 = changes.l2
        maxAbs = changes.maxAbs
    }

    /// Compares two value arrays of one tensor element by element.
    public init(tensor: String, before: TensorValues, after: TensorValues) {
        self.init(tensor: tensor, changes: ChangeTally(from: before, to: after))
    }
}

/// One pass of a run: its spec, its parameters and what it did to each tensor it touched.
public struct PassReport: Sendable {
    public let name: String
    public let spec: String
    public let parameters: [(name: String, value: String)]
    public var edits: [TensorEdit]
}

/// What a run did, for the summary on stderr, `--json`, and the records.
public struct RunReport: Sendable {
    public let input: String
    public let output: String
    public let format: CheckpointFormat
    public let outputFiles: [String]
    public let classes: [Int]
    public let outputLayer: String?
    public let passes: [PassReport]
    /// Optimizer-state groups the input has, and those left out of the output.
    public let optimizerGroups: [String]
    public let droppedGroups: [String]
    public let droppedTensors: [TensorInfo]
}

/// Runs a plan: streams the checkpoint once, applying each pass in order to the tensors it
/// selected, and writes the result through `output` (committed by the caller).
public enum ForgettingPipeline {
    /// `inputSinks` and `outputSinks` (by file path) see the files' bytes where the backend streams them.
    public static func run(_ plan: ForgettingPlan, on checkpoint: any CheckpointFile, to destination: String,
                           in output: OutputTransaction, inputSinks: [String: any ByteSink] = [:], outputSinks: [String: any ByteSink] = [:],
                           progress: RewriteProgress = { _, _ in }) throws -> RunReport {
        var reports = plan.steps.map { PassReport(name: $0.pass.name, spec: $0.spec.text, parameters: $0.pass.parameters, edits: []) }
        let stepsOfTensor = Dictionary(grouping: plan.steps.indices.flatMap { i in plan.steps[i].tensors.map { ($0, i) } }, by: \.0)
            .mapValues { $0.map(\.1) }
        let loader = CompanionLoader(layout: plan.layout, inputs: plan.inputs)
        var rewrite = plan.rewrite
        rewrite.inputSinks = inputSinks
        rewrite.outputSinks = outputSinks
        try checkpoint.rewrite(to: destination, in: output, plan: rewrite, progress: progress) { tensor in
            guard let layout = plan.layout.tensors[tensor.name] else { return }
            let steps = stepsOfTensor[tensor.name] ?? []
            let companions = try loader.load(steps.reduce(into: Set()) { $0.formUnion(plan.steps[$1].pass.requirements) }, for: tensor)
            for step in steps {
                tensor.changes = ChangeTally()
                let context = PassContext(tensor: layout, target: plan.target, companions: companions)
                try plan.steps[step].pass.apply(to: &tensor, context: context)
                reports[step].edits.append(TensorEdit(tensor: tensor.name, changes: tensor.changes))
            }
        }
        let dropped = checkpoint.tensors.filter { info in plan.droppedGroups.contains { info.name.hasPrefix($0 + "/") } }
        return RunReport(input: checkpoint.path, output: destination, format: checkpoint.format,
                         outputFiles: checkpoint.outputFiles(for: destination), classes: plan.target.classes,
                         outputLayer: plan.outputLayer, passes: reports, optimizerGroups: plan.layout.optimizerGroups,
                         droppedGroups: plan.droppedGroups, droppedTensors: dropped)
    }
}
