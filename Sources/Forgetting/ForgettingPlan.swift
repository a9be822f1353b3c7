import Checkpoint
#if canImport(Glibc)
import Glibc
#endif

/// The work of one run, decided and checked before any byte is written: each pass with the
/// tensors it edits, what they need, the groups left out, and the rewrite that follows from them.
/// Built once from the specs; `prepared` binds statistics computed from data and lets passes that
/// need a view over all their tensors look at them.
public struct ForgettingPlan {
    public struct Step {
        public let spec: PassSpec
        public let pass: any Pass
        /// Tensors this pass edits, in file order.
        public let tensors: [String]
    }

    public let steps: [Step]
    public let target: ForgetTarget
    public let layout: Layout
    /// `--pre` and the statistics, as the passes read them.
    public let inputs: PassInputs
    /// Whether tensors holding NaN or infinity may be edited (else the run stops at the first).
    public var allowNonFinite = false
    /// Optimizer-state groups left out of the output (empty with `keepOptimizerState`).
    public let droppedGroups: [String]
    /// The output layer, when a pass needed it.
    public let outputLayer: String?
    /// Whether `prepared` made this plan (the pipeline prepares a plan that is not).
    public let isPrepared: Bool

    /// Everything the passes read besides the checkpoint.
    public var requirements: Set<PassRequirement> { steps.reduce(into: []) { $0.formUnion($1.pass.requirements) } }
    /// Whether a pass runs the model (the run then rebuilds it and splits the data).
    public var hasModelPasses: Bool { steps.contains { $0.pass is any ModelPass } }
    /// Whether statistics are wanted and none were given: the run computes them from data (wanted:
    /// a pass needs them, or would use them and there is data).
    public var needsStatisticsFromData: Bool {
        inputs.statistics == nil && requirements.contains { $0.isStatistic && (!$0.isOptional || statisticsFromData) }
    }
    /// Whether the run has data to compute statistics from.
    public let statisticsFromData: Bool

    /// Everything the writer needs: edited tensors and dropped groups.
    public var rewrite: RewritePlan {
        RewritePlan(edited: Set(steps.flatMap(\.tensors)), dropped: Set(droppedGroups))
    }

    /// - Parameter statisticsFromData: the run will compute missing statistics from data; without
    ///   it, a pass that needs statistics needs `inputs.statistics`.
    public init(checkpoint: any CheckpointFile, specs: [PassSpec], target: ForgetTarget, inputs: PassInputs = PassInputs(),
                statisticsFromData: Bool = false, outputLayer requested: String? = nil, keepOptimizerState: Bool = false) throws {
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
        let fileOrder = Dictionary(checkpoint.tensors.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        var steps: [Step] = []
        for spec in specs {
            let pass = try PassRegistry.make(spec)
            let chosen = try pass.tensors(in: context).filter { name in
                guard let info = layout.tensors[name]?.info, info.dtype.isEditable else { return false }
                guard let glob = spec.glob else { return true }
                return Self.matches(glob, name) || Self.matches(glob, layout.tensors[name]?.layer ?? "")
            }
            guard !chosen.isEmpty else { throw PassError.noTensorMatches(spec: spec.text, path: checkpoint.path) }
            // Never half a layer: a pass that would edit a damaged layer's tensors stops the run.
            if let layer = chosen.lazy.compactMap({ layout.tensors[$0]?.layer }).first(where: { layout.damage[$0] != nil }) {
                throw LayoutError.damagedLayer(path: checkpoint.path, layer: layer, problems: layout.damage[layer]!)
            }
            for name in chosen { try MemoryLimit.check(layout.tensors[name]!.info, in: checkpoint.path) }
            steps.append(Step(spec: spec, pass: pass, tensors: chosen.sorted { fileOrder[$0, default: 0] < fileOrder[$1, default: 0] }))
        }
        if let requested, resolved == nil { resolved = try layout.outputLayer(named: requested) }
        self.steps = steps
        outputLayer = resolved?.name
        // Optimizer state is never copied silently: left out where the format can (Keras' HDF5
        // groups), refused where it cannot (a .pt), unless --keep-optimizer-state asks for it.
        if !keepOptimizerState, !layout.optimizerGroups.isEmpty, !checkpoint.format.mayHoldKerasOptimizerState {
            throw LayoutError.optimizerStateKept(path: checkpoint.path, groups: layout.optimizerGroups)
        }
        droppedGroups = keepOptimizerState ? [] : layout.optimizerGroups
        isPrepared = false
        self.statisticsFromData = statisticsFromData
        // Statistics still to be computed are checked once they are (`prepared`); the rest now.
        try CompanionLoader(layout: layout, inputs: inputs).validate(steps.map { ($0.pass, $0.tensors) },
                                                                     statisticsPending: statisticsFromData && needsStatisticsFromData)
    }

    private init(steps: [Step], from plan: ForgettingPlan, inputs: PassInputs) {
        self.steps = steps
        target = plan.target
        layout = plan.layout
        self.inputs = inputs
        droppedGroups = plan.droppedGroups
        allowNonFinite = plan.allowNonFinite
        outputLayer = plan.outputLayer
        isPrepared = true
        statisticsFromData = plan.statisticsFromData
    }

    /// The plan ready to run: statistics computed from data bound in (each pass keeps the tensors
    /// they cover), everything checked against `--pre` and the statistics, and passes that need a
    /// view over all their tensors (a global threshold) prepared by reading them. No output is
    /// written yet.
    public func prepared(checkpoint: any CheckpointFile, computed: (any StatisticsSource)? = nil) throws -> ForgettingPlan {
        var inputs = self.inputs
        var steps = self.steps
        if let computed, inputs.statistics == nil {
            inputs.statistics = computed
            let context = PlanContext(layout: layout, target: target, inputs: inputs) { [layout, outputLayer] in
                try layout.outputLayer(named: outputLayer)
            }
            steps = try steps.map { step in
                guard step.pass.requirements.contains(where: { $0.isStatistic && !$0.isOptional }) else { return step }
                let covered = Set(try step.pass.tensors(in: context))
                let kept = step.tensors.filter(covered.contains)
                guard !kept.isEmpty else { throw PassError.noTensorMatches(spec: step.spec.text, path: checkpoint.path) }
                return Step(spec: step.spec, pass: step.pass, tensors: kept)
            }
        }
        let loader = CompanionLoader(layout: layout, inputs: inputs)
        try loader.validate(steps.map { ($0.pass, $0.tensors) })
        steps = try steps.map { step in
            guard let pass = step.pass as? any TensorPass else { return step }
            let prepared = try pass.prepared(for: step.tensors, target: target) { name in
                let tensor = try checkpoint.read(layout.tensors[name]!.info)  // every selected name is in the layout
                return (tensor, try loader.load(pass.requirements, for: tensor, keepingOriginal: false))
            }
            return Step(spec: step.spec, pass: prepared, tensors: step.tensors)
        }
        return ForgettingPlan(steps: steps, from: self, inputs: inputs)
    }

    /// The same plan with step `index`'s pass replaced by `pass` (prepared like the others), for a
    /// strength search's trials and its choice. The step keeps its tensors and spec.
    public func substituting(_ pass: any Pass, at index: Int, checkpoint: any CheckpointFile) throws -> ForgettingPlan {
        var steps = self.steps
        var replacement = pass
        if let tensorPass = pass as? any TensorPass {
            let loader = CompanionLoader(layout: layout, inputs: inputs)
            replacement = try tensorPass.prepared(for: steps[index].tensors, target: target) { name in
                let tensor = try checkpoint.read(layout.tensors[name]!.info)  // every selected name is in the layout
                return (tensor, try loader.load(tensorPass.requirements, for: tensor, keepingOriginal: false))
            }
        }
        steps[index] = Step(spec: steps[index].spec, pass: replacement, tensors: steps[index].tensors)
        return ForgettingPlan(steps: steps, from: self, inputs: inputs)
    }

    /// Shell-style glob (`*`, `?`, `[...]`) over a whole name.
    static func matches(_ glob: String, _ name: String) -> Bool {
        fnmatch(glob, name, 0) == 0
    }
}
