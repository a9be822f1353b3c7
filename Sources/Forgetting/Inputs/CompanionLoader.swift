import Checkpoint

/// Checks, before any work, that `--pre` and `--stats` hold what the passes need for the tensors
/// they selected; then loads those companions tensor by tensor while the checkpoint streams.
struct CompanionLoader {
    let layout: Layout
    let inputs: PassInputs

    /// Every problem across all steps is collected, so one run shows the first few offenders. With
    /// `statisticsPending` (the run computes them from data later) statistics are not checked yet.
    func validate(_ steps: [(pass: any Pass, tensors: [String])], statisticsPending: Bool = false) throws {
        var preProblems: [String] = [], statsProblems: [String] = []
        var checkedPre = Set<String>(), checkedStats = Set<String>()
        for (pass, tensors) in steps {
            let needs = pass.requirements
            if needs.contains(.preSnapshot), inputs.pre == nil { throw PassError.needsInput(pass: pass.name, option: "--pre PRE") }
            if needs.contains(where: { $0.isStatistic && !$0.isOptional }), inputs.statistics == nil, !statisticsPending {
                throw PassError.needsInput(pass: pass.name, option: "--stats STATS, or --data to compute them from")
            }
            for name in tensors {
                guard let entry = layout.tensors[name] else { continue }
                if needs.contains(.preSnapshot), let pre = inputs.pre, checkedPre.insert(name).inserted {
                    if let problem = Self.mismatch(pre.tensor(named: name), entry.info, what: name) { preProblems.append(problem) }
                }
                guard let statistics = inputs.statistics else { continue }
                for requirement in needs where !requirement.isOptional {
                    for (entryName, shape) in statisticsEntries(requirement, for: entry, statistics: statistics)
                    where checkedStats.insert(entryName).inserted {
                        let info = statistics.info(entryName)
                        if info == nil { statsProblems.append("no \(entryName)") }
                        else if info!.shape != shape { statsProblems.append("\(entryName) has shape \(info!.shape), expected \(shape)") }
                        else if !info!.dtype.isEditable { statsProblems.append("\(entryName) is \(info!.dtype.rawValue), expected floats") }
                    }
                }
            }
        }
        if let pre = inputs.pre, !preProblems.isEmpty {
            throw StatisticsError.mismatch(path: pre.path, problems: Array(preProblems.prefix(5)), total: preProblems.count)
        }
        if let statistics = inputs.statistics, !statsProblems.isEmpty {
            throw StatisticsError.mismatch(path: statistics.path, problems: Array(statsProblems.prefix(5)), total: statsProblems.count)
        }
    }

    /// The statistics entries (and their expected shapes) a requirement needs for one tensor.
    func statisticsEntries(_ requirement: PassRequirement, for entry: TensorLayout, statistics: any StatisticsSource) -> [(String, [Int])] {
        switch requirement {
        case .preSnapshot, .data, .logitsIfAvailable:
            return []
        case .fisher(let split):
            return [(StatisticsSchema.fisher(split, tensor: entry.info.name), entry.info.shape)]
        case .correlation:
            var entries: [(String, [Int])] = []
            if let post = entry.classAxis { entries.append((StatisticsSchema.correlation(layer: entry.layer, side: .post), [entry.info.shape[post]])) }
            if let pre = Self.inputAxis(of: entry) { entries.append((StatisticsSchema.correlation(layer: entry.layer, side: .pre), [entry.info.shape[pre]])) }
            return entries
        }
    }

    /// The axis indexed by a kernel's input units: Keras (…, in, out) → rank − 2; PyTorch (out, in, …) → 1.
    static func inputAxis(of entry: TensorLayout) -> Int? {
        guard entry.role == .kernel, let post = entry.classAxis, entry.info.shape.count >= 2 else { return nil }
        return post == 0 ? 1 : entry.info.shape.count - 2
    }

    private static func mismatch(_ other: TensorInfo?, _ info: TensorInfo, what name: String) -> String? {
        guard let other else { return "no tensor \(name)" }
        if other.shape != info.shape { return "\(name) has shape \(other.shape), expected \(info.shape)" }
        if !other.dtype.isEditable { return "\(name) is \(other.dtype.rawValue), expected floats" }
        return nil
    }

    /// Loads what `requirements` ask for, for `tensor` as read from the input: the small companions
    /// whole, the `--pre` tensor and Fisher diagonals as readers of slices. `keepingOriginal` keeps
    /// the input's values for ΔW beside the tensor, for passes that run after others changed it.
    func load(_ requirements: Set<PassRequirement>, for tensor: Tensor, keepingOriginal: Bool) throws -> Companions {
        var companions = Companions()
        guard !requirements.isEmpty, let entry = layout.tensors[tensor.name] else { return companions }
        if requirements.contains(.preSnapshot), let pre = inputs.pre, let info = pre.tensor(named: tensor.name) {
            if keepingOriginal { companions.original = tensor.values }
            companions.pre = try CompanionTensor(file: pre, info: info)
        }
        guard let statistics = inputs.statistics else { return companions }
        for requirement in requirements {
            switch requirement {
            case .preSnapshot, .data:
                break
            case .logitsIfAvailable:
                if statistics.info(StatisticsSchema.logits(.full, .min)) != nil {
                    companions.logitMinimum = try statistics.read(StatisticsSchema.logits(.full, .min))
                }
            case .fisher(let split):
                let name = StatisticsSchema.fisher(split, tensor: tensor.name)
                guard let info = statistics.info(name) else { throw StatisticsError.missing(path: statistics.path, entries: [name]) }
                companions.fisher[split] = CompanionTensor(statistics: statistics, name: name, count: info.count)
            case .correlation:
                if entry.classAxis != nil {
                    companions.correlationPost = try statistics.read(StatisticsSchema.correlation(layer: entry.layer, side: .post))
                }
                if Self.inputAxis(of: entry) != nil {
                    companions.correlationPre = try statistics.read(StatisticsSchema.correlation(layer: entry.layer, side: .pre))
                }
            }
        }
        return companions
    }
}
