import Checkpoint

/// `prune:theta=T` or `prune:top=P%[,scope=global]` — zeroes the synapses that learning the forget
/// data moved most: W' = 0 where |ΔW| > T (the spiking-network paper's eq. 11–12), or for the P%
/// largest |ΔW| per tensor (or over all selected tensors with `scope=global`; ties at the
/// threshold are pruned too, but never a weight whose ΔW is 0: it did not move). ΔW = W − W_pre
/// needs `--pre`. Acts on every floating tensor but
/// optimizer state (`@GLOB` narrows it).
struct PrunePass: TensorPass {
    static let name = "prune"
    static let usage = "prune:theta=T | prune:top=P%[,scope=global]"
    static let summary = "zero weights whose change ΔW = W − W_pre is over T, or the top P% of |ΔW| (needs --pre)"
    static let parameterNames = ["theta", "top", "scope"]

    enum Rule: Equatable { case over(Double), top(fraction: Double, global: Bool) }

    let rule: Rule
    /// The |ΔW| threshold over all tensors (`scope=global`), found by `prepared`.
    var globalThreshold: Double?

    var requirements: Set<PassRequirement> { [.preSnapshot] }

    init(_ arguments: PassArguments) throws {
        let theta = arguments.string("theta", positional: true)
        let top = arguments.string("top")
        let scope = arguments.string("scope") ?? "tensor"
        switch (theta, top) {
        case (let theta?, nil):
            guard let value = Double(theta), value.isFinite, value >= 0 else {
                throw PassError.badValue(spec: arguments.spec.text, key: "theta", value: theta, expected: "a non-negative number")
            }
            guard scope == "tensor" else { throw PassError.malformed(spec: arguments.spec.text, reason: "scope applies to top=P% only") }
            rule = .over(value)
        case (nil, let top?):
            guard top.hasSuffix("%"), let percent = Double(top.dropLast()), percent >= 0, percent <= 100 else {
                throw PassError.badValue(spec: arguments.spec.text, key: "top", value: top, expected: "a percentage such as 1% (0% to 100%)")
            }
            guard scope == "tensor" || scope == "global" else {
                throw PassError.badValue(spec: arguments.spec.text, key: "scope", value: scope, expected: "tensor or global")
            }
            rule = .top(fraction: percent / 100, global: scope == "global")
        default:
            throw PassError.malformed(spec: arguments.spec.text, reason: "give exactly one of theta=T and top=P%")
        }
    }

    var parameters: [(name: String, value: String)] {
        switch rule {
        case .over(let theta): [("theta", "\(theta)")]
        case .top(let fraction, let global):
            [("top", "\(fraction * 100)%"), ("scope", global ? "global" : "tensor")]
                + (globalThreshold.map { [("threshold", "\($0)")] } ?? [])
        }
    }

    func tensors(in context: PlanContext) throws -> [String] {
        TrainableTensors.everyFloating(in: context)
    }

    func prepared(for tensors: [String], target: ForgetTarget, reading companions: (String) throws -> (Tensor, Companions)) throws -> any TensorPass {
        guard case .top(let fraction, true) = rule else { return self }
        var selector = LargestValueSelector()
        for name in tensors {
            let (tensor, loaded) = try companions(name)
            try selector.count(deltasOf: tensor, in: loaded)
        }
        var pass = self
        pass.globalThreshold = .infinity
        if let location = selector.locate(Int((fraction * Double(selector.total)).rounded(.down))) {
            var candidates: [Double] = []
            for name in tensors {
                let (tensor, loaded) = try companions(name)
                try loaded.forEachDelta(of: tensor) { _, delta in
                    if !delta.isNaN, LargestValueSelector.bucket(abs(delta)) == location.bucket { candidates.append(abs(delta)) }
                }
            }
            pass.globalThreshold = Self.threshold(LargestValueSelector.pick((location.bucket, location.rank), from: candidates))
        }
        return pass
    }

    /// Per tensor, `top` reads ΔW a slice at a time, once where the share is small enough to keep
    /// every value that can still be over the threshold (`TopValueCollector`), else twice; nothing
    /// tensor-sized is held but, scanning twice, two bit masks.
    func apply(to tensor: inout Tensor, context: PassContext) throws {
        let companions = context.companions
        guard companions.pre != nil else { return }
        // |ΔW| > threshold prunes (theta), or ≥ (top, so that ties at the threshold go too).
        switch rule {
        case .over(let theta):
            try prune(&tensor, companions: companions) { $0 > theta }
        case .top(_, true):
            let threshold = globalThreshold ?? .infinity
            try prune(&tensor, companions: companions) { $0 >= threshold }
        case .top(let fraction, false):
            if try pruneTopInOneScan(&tensor, fraction: fraction, companions: companions) { return }
            try pruneTopInTwoScans(&tensor, fraction: fraction, companions: companions)
        }
    }

    /// Whether `pruneTopInOneScan` may keep candidates for `most` values of a tensor of `count`
    /// elements: 24 bytes each (index, value, selection scratch), two per value that may be
    /// pruned, so at most 3/16 of a float32 tensor's size (top ≤ 1/64), or 1.5 MiB.
    private static func keepsCandidates(most: Int, of count: Int) -> Bool { most <= max(count / 64, 1 << 15) }

    /// `top` per tensor in one scan of ΔW, when few enough values may be pruned to keep every one
    /// that can still be (false, nothing done, when too many or too many ties).
    private func pruneTopInOneScan(_ tensor: inout Tensor, fraction: Double, companions: Companions) throws -> Bool {
        // k is taken of the values that are not NaN, so it is at most this.
        let most = Int((fraction * Double(tensor.values.count)).rounded(.down))
        guard most >= 1 else { return true }
        guard Self.keepsCandidates(most: most, of: tensor.values.count) else { return false }
        let collector = TopValueCollector(limit: most)
        var total = 0
        for range in companions.slices(of: tensor.values.count) {
            if companions.original == nil, let pre = companions.pre {
                // No pass before this one changed the tensor: its values are the input's.
                total += range.count - collector.offerChanges(inPlace: tensor.values, pre: try pre.slice(range), range: range)
            } else {
                total += range.count - collector.offerChanges(of: try companions.snapshot(range, of: tensor))
            }
            if collector.isOverflowing { return false }
        }
        guard let kth = collector.largest(Int((fraction * Double(total)).rounded(.down))) else { return true }
        tensor.update(collector.indices(atLeast: Self.threshold(kth))) { _ in 0 }
        return true
    }

    /// `top` per tensor in two scans: to count |ΔW| in a histogram, then to mark what is over the
    /// threshold's bucket and keep the values in it (the threshold is picked among them).
    private func pruneTopInTwoScans(_ tensor: inout Tensor, fraction: Double, companions: Companions) throws {
        var selector = LargestValueSelector()
        try selector.count(deltasOf: tensor, in: companions)
        guard let location = selector.locate(Int((fraction * Double(selector.total)).rounded(.down))) else { return }
        // Buckets order the values: every value in a higher bucket is over the threshold.
        var pruned = IndexMask(capacity: tensor.values.count), candidates = IndexMask(capacity: tensor.values.count)
        var candidateValues: [Double] = []
        try companions.forEachDelta(of: tensor) { i, delta in
            let size = abs(delta)
            guard !size.isNaN else { return }
            let bucket = LargestValueSelector.bucket(size)
            if bucket > location.bucket {
                pruned.insert(i)
            } else if bucket == location.bucket {
                candidates.insert(i)
                candidateValues.append(size)
            }
        }
        let threshold = Self.threshold(LargestValueSelector.pick(location, from: candidateValues))
        // The candidates' values were kept in index order, the order the mask gives them back.
        for (i, size) in zip(candidates, candidateValues) where size >= threshold { pruned.insert(i) }
        tensor.update(pruned) { _ in 0 }
    }

    /// The `top` threshold for the k-th largest |ΔW|: never 0, so that weights that did not move
    /// are not pruned as ties (a snapshot equal to the input would otherwise zero every weight).
    static func threshold(_ kthLargest: Double) -> Double { max(kthLargest, .leastNonzeroMagnitude) }

    /// Zeroes the elements whose |ΔW| `prunes`, a slice at a time.
    private func prune(_ tensor: inout Tensor, companions: Companions, where prunes: (Double) -> Bool) throws {
        for range in companions.slices(of: tensor.values.count) {
            var pruned: [Int] = []
            try companions.snapshot(range, of: tensor).forEachDelta { i, delta in
                if prunes(abs(delta)) { pruned.append(i) }
            }
            tensor.update(pruned) { _ in 0 }
        }
    }
}
