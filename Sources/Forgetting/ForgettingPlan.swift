import Checkpoint
#if canImport(Glibc)
import Glibc
#endif

/// The work of one run, decided and checked before any byte is written: each pass with the
/// tensors it edits, the groups left out, and the rewrite that follows from them.
public struct ForgettingPlan {
    public struct Step {
        public let spec: PassSpec
        public let pass: any ForgettingPass
        /// Tensors this pass edits, in file order.
        public let tensors: [String]
    }

    public let steps: [Step]
    public let target: ForgetTarget
    public let layout: Layout
    /// `--pre` and `--stats`, as the passes read them.
    public let inputs: PassInputs
    /// Optimizer-state groups left out of the output (empty with `keepOptimizerState`).
    public let droppedGroups: [String]
    /// The output layer, when a pass needed it.
    public let outputLayer: String?

    /// Everything the writer needs: edited tensors and dropped groups.
    public var rewrite: RewritePlan {
        RewritePlan(edited: Set(steps.flatMap(\.tensors)), dropped: Set(droppedGroups))
    }

    public init(checkpoint: any CheckpointFile, specs: [PassSpec], target: ForgetTarget, inputs: PassInputs = PassInputs(),
                outputLayer requested: String? = nil, keepOptimizerState: Bool = false) throws {
        let layout = Layout(of: checkpoint)
        self.layout = layout
        self.target = target
        self.inputs = inputs
        var resolved: Layer?
        let context = PlanContext(layout: layout, target: target, inputs: inputs) {
            if let resolved { return resolved }
            let layer = try layout.outputLayer(named: requested)
            resolved = layer
            return layer
        }
        let fileOrder = Dictionary(uniqueKeysWithValues: checkpoint.tensors.enumerated().map { ($0.element.name, $0.offset) })
        var steps: [Step] = []
        for spec in specs {
            let pass = try PassRegistry.make(spec)
            let chosen = try pass.tensors(in: context).filter { name in
                guard let info = layout.tensors[name]?.info, info.dtype.isEditable else { return false }
                guard let glob = spec.glob else { return true }
                return Self.matches(glob, name) || Self.matches(glob, layout.tensors[name]?.layer ?? "")
            }
            guard !chosen.isEmpty else { throw PassError.noTensorMatches(spec: spec.text, path: checkpoint.path) }
            steps.append(Step(spec: spec, pass: pass, tensors: chosen.sorted { fileOrder[$0, default: 0] < fileOrder[$1, default: 0] }))
        }
        if let requested, resolved == nil { resolved = try layout.outputLayer(named: requested) }

        let loader = CompanionLoader(layout: layout, inputs: inputs)
        try loader.validate(steps.map { ($0.pass, $0.tensors) })
        steps = try steps.map { step in
            // Passes that need a view over all their tensors (a global threshold) look now, before writing.
            let prepared = try step.pass.prepared(for: step.tensors) { name in
                let tensor = try checkpoint.read(layout.tensors[name]!.info)  // every selected name is in the layout
                return (tensor, try loader.load(step.pass.requirements, for: tensor))
            }
            return Step(spec: step.spec, pass: prepared, tensors: step.tensors)
        }
        self.steps = steps
        outputLayer = resolved?.name
        droppedGroups = keepOptimizerState ? [] : layout.optimizerGroups
    }

    /// Shell-style glob (`*`, `?`, `[...]`) over a whole name.
    static func matches(_ glob: String, _ name: String) -> Bool {
        fnmatch(glob, name, 0) == 0
    }
}
