import Testing
import Checkpoint
import Engine
@testable import Forgetting

/// The ΔW and Fisher passes on small tensors whose results are worked out by hand.
@Suite struct SnapshotPassTests {
    /// A (2, 3) Keras kernel: inputs i = rows, output units j = columns.
    private let kernel = TensorLayout(info: TensorInfo(name: "k", dtype: .float32, shape: [2, 3]), layer: "l", role: .kernel, classAxis: 1)

    /// Applies `spec` to `values`, the companions read `sliceSize` elements at a time.
    private func apply(_ spec: String, _ values: [Float], pre: [Float]? = nil, fisher: [DataSplit: [Float]] = [:],
                       correlation: (pre: [Float], post: [Float])? = nil, layout: TensorLayout? = nil,
                       sliceSize: Int = Companions.standardSliceSize) throws -> [Float] {
        try applyTallied(spec, values, pre: pre, fisher: fisher, correlation: correlation, layout: layout, sliceSize: sliceSize).values
    }

    private func applyTallied(_ spec: String, _ values: [Float], pre: [Float]? = nil, fisher: [DataSplit: [Float]] = [:],
                              correlation: (pre: [Float], post: [Float])? = nil, layout: TensorLayout? = nil,
                              sliceSize: Int = Companions.standardSliceSize) throws -> (values: [Float], changes: ChangeTally) {
        let layout = layout ?? kernel
        var companions = Companions()
        companions.sliceSize = sliceSize
        if let pre { companions.pre = CompanionTensor(.float32(pre)) }
        for (split, f) in fisher { companions.fisher[split] = CompanionTensor(.float32(f)) }
        if let correlation {
            companions.correlationPre = .float32(correlation.pre)
            companions.correlationPost = .float32(correlation.post)
        }
        let pass = try #require(try PassRegistry.make(PassSpec(parsing: spec)) as? any TensorPass)
        var tensor = Tensor(info: layout.info, values: .float32(values))
        try pass.apply(to: &tensor, context: PassContext(tensor: layout, target: ForgetTarget(), companions: companions))
        guard case .float32(let out) = tensor.values else { return ([], tensor.changes) }
        return (out, tensor.changes)
    }

    private let w: [Float] = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    // ΔW = w − pre = [0.5, -0.25, 2, 0, -1, 0.125]
    private let pre: [Float] = [0.5, 2.25, 1.0, 4.0, 6.0, 5.875]

    @Test func pruneOverTheta() throws {
        // |ΔW| > 0.4: elements 0 (0.5), 2 (2) and 4 (1).
        #expect(try apply("prune:theta=0.4", w, pre: pre) == [0, 2, 0, 4, 0, 6])
        #expect(try apply("prune:theta=2", w, pre: pre) == w)  // strictly greater
    }

    @Test func pruneTopPercentPerTensor() throws {
        // 50% of 6 = 3 largest |ΔW|: 2, 1, 0.5 → elements 2, 4, 0.
        #expect(try apply("prune:top=50%", w, pre: pre) == [0, 2, 0, 4, 0, 6])
        // 17% of 6 = 1.02 → 1 element: the 2 at index 2.
        #expect(try apply("prune:top=17%", w, pre: pre) == [1, 2, 0, 4, 5, 6])
        #expect(try apply("prune:top=0%", w, pre: pre) == w)
        // 100%: every weight that moved; element 3 (ΔW = 0) did not, and stays.
        #expect(try apply("prune:top=100%", w, pre: pre) == [0, 0, 0, 4, 0, 0])
    }

    /// Weights that did not move are never pruned as ties at a threshold of 0: ΔW = [0.5, 0, 2, 0,
    /// −1, 0], top=75% is k = 4, whose |ΔW| is 0, so only the three that moved go; with a snapshot
    /// equal to the input nothing is pruned.
    @Test func pruneTopLeavesWeightsThatDidNotMove() throws {
        let moved: [Float] = [0.5, 2, 1, 4, 6, 6]  // w − ΔW
        #expect(try apply("prune:top=75%", w, pre: moved) == [0, 2, 0, 4, 0, 6])
        #expect(try apply("prune:top=100%", w, pre: w) == w)
        #expect(try apply("prune:top=50%", w, pre: w, sliceSize: 4) == w)
    }

    /// The values as the |ΔW| of a float64 tensor against a zero snapshot, counted in slices of 4.
    @Test func largestValueSelectorIsExact() throws {
        var selector = LargestValueSelector()
        let values: [Double] = [0.3, 7, 1e-30, 7, 2.5, .nan, 0, 1e30, 2.5000001]
        var companions = Companions()
        companions.sliceSize = 4
        companions.pre = CompanionTensor(.float64(Array(repeating: 0, count: values.count)))
        let tensor = Tensor(info: TensorInfo(name: "t", dtype: .float64, shape: [values.count]), values: .float64(values))
        try selector.count(deltasOf: tensor, in: companions)
        #expect(selector.total == 8)
        let sorted = values.filter { !$0.isNaN }.sorted(by: >)
        for k in 1...8 {
            let location = selector.locate(k)!
            #expect(LargestValueSelector.pick(location, from: values) == sorted[k - 1], "k = \(k)")
        }
        #expect(selector.locate(0) == nil && selector.locate(9) == nil)
    }

    @Test func negateSubtractsLambdaDeltas() throws {
        // W − 0.5·ΔW = [0.75, 2.125, 2, 4, 5.5, 5.9375]
        #expect(try apply("negate:0.5", w, pre: pre) == [0.75, 2.125, 2, 4, 5.5, 5.9375])
        #expect(try apply("negate:1", w, pre: pre) == pre)
        #expect(try apply("negate:0", w, pre: pre) == w)
        #expect(try apply("negate:-1", w, pre: pre) == [1.5, 1.75, 5, 4, 4, 6.125])  // extrapolation
    }

    @Test func revertNeedsBothNeuronsAndABigChange() throws {
        // Element (i, j) = flat i·3 + j. corr_pre = [0.9, 0.1], corr_post = [0.8, 0.9, 0.2], C = 0.5, T = 0.1.
        // Row 0 (pre 0.9) qualifies; row 1 (0.1) does not. Column 2 (0.2) never does.
        // Row 0: (0,0) |0.5| > 0.1 ✓ → 1 − 0.5 = 0.5; (0,1) |−0.25| ✓ → 2 + 0.25 = 2.25; (0,2) column fails.
        let out = try apply("revert:alpha=1,dw=0.1,corr=0.5", w, pre: pre, correlation: ([0.9, 0.1], [0.8, 0.9, 0.2]))
        #expect(out == [0.5, 2.25, 3, 4, 5, 6])
        // A bias needs only its output unit: units 0 and 1 qualify, unit 2 does not.
        let bias = TensorLayout(info: TensorInfo(name: "b", dtype: .float32, shape: [3]), layer: "l", role: .bias, classAxis: 0)
        var companions = Companions()
        companions.pre = CompanionTensor(.float32([0, 0.95, 0]))
        companions.correlationPost = .float32([0.8, 0.9, 0.2])
        var tensor = Tensor(info: bias.info, values: .float32([1, 1, 1]))
        try #require(try PassRegistry.make(PassSpec(parsing: "revert:alpha=0.5,dw=0.1,corr=0.5")) as? any TensorPass).apply(to: &tensor, context: PassContext(tensor: bias, target: ForgetTarget(), companions: companions))
        #expect(tensor.values == .float32([0.5, 1, 1]))  // unit 1's |Δ| = 0.05 is under T
    }

    @Test func revertBySelectingDeltaAloneMovesEveryBigChangeBack() throws {
        // select=dw, T = 0.4: elements 0 (0.5), 2 (2) and 4 (−1) go back to pre; no correlation is read.
        #expect(try apply("revert:alpha=1,dw=0.4,select=dw", w, pre: pre) == [0.5, 2, 1, 4, 6, 6])
        // α = 0.5 moves them half way: 1 − 0.25, 3 − 1, 5 + 0.5.
        #expect(try apply("revert:alpha=0.5,dw=0.4,select=dw", w, pre: pre) == [0.75, 2, 2, 4, 5.5, 6])
        #expect(try PassRegistry.make(PassSpec(parsing: "revert:select=dw")).requirements == [.preSnapshot])
        #expect(throws: PassError.malformed(spec: "revert:select=dw,corr=0.5", reason: "corr=C applies to select=corr")) {
            try PassRegistry.make(PassSpec(parsing: "revert:select=dw,corr=0.5"))
        }
        #expect(throws: PassError.self) { try PassRegistry.make(PassSpec(parsing: "revert:select=both")) }
    }

    @Test func ssdDampensWhereTheForgetSetDominates() throws {
        let forget: [Float] = [10, 1, 0, 50, 5, 2]
        let full: [Float] = [0.5, 1, 1, 1, 1, 0]
        // F_forget > 10·F_full: elements 0 (10 > 5), 3 (50 > 10), 5 (2 > 0); element 4 (5 > 10) is not.
        // β = min(F_full/F_forget, 1): 0.05, 0.02, 0 → 0.05, 4·0.02 = 0.08, 0.
        let out = try apply("ssd", w, fisher: [.forget: forget, .full: full])
        #expect(out == [Float(1.0 * 0.05), 2, 3, Float(4.0 * 0.02), 5, 0])
        // lambda = 4: β = min(4·F_full/F_forget, 1): 0.2, 0.08, 0.
        #expect(try apply("ssd:alpha=10,lambda=4", w, fisher: [.forget: forget, .full: full]) == [0.2, 2, 3, Float(4.0 * 0.08), 5, 0])
    }

    @Test func fisherNoiseScalesWithInverseRetainFisher() throws {
        // F_retain huge for the first three (noise ≈ 0), zero for the others (variance clipped to 0.01).
        let layout = TensorLayout(info: TensorInfo(name: "big", dtype: .float32, shape: [2, 5000]), layer: "l", role: .kernel, classAxis: 1)
        let values = [Float](repeating: 1, count: 10_000)
        let retain = (0..<10_000).map { $0 < 5000 ? Float(1e12) : 0 }
        let out = try apply("fisher-noise:alpha=1,clip=0.01,seed=3", values, fisher: [.retain: retain], layout: layout)
        #expect(try apply("fisher-noise:alpha=1,clip=0.01,seed=3", values, fisher: [.retain: retain], layout: layout) == out)
        let pinned = out[..<5000].map { abs(Double($0) - 1) }.max()!
        #expect(pinned < 1e-4)  // std = sqrt(1e-12) = 1e-6
        let free = out[5000...].map { Double($0) - 1 }
        let deviation = (free.map { $0 * $0 }.reduce(0, +) / Double(free.count)).squareRoot()
        #expect(abs(deviation - 0.1) < 0.01, "deviation \(deviation), expected sqrt(0.01) = 0.1")
    }

    @Test func passesDeclareWhatTheyRead() throws {
        #expect(try PassRegistry.make(PassSpec(parsing: "prune:theta=1")).requirements == [.preSnapshot])
        #expect(try PassRegistry.make(PassSpec(parsing: "ssd")).requirements == [.fisher(.forget), .fisher(.full)])
        #expect(try PassRegistry.make(PassSpec(parsing: "revert:corr=0.3")).requirements == [.preSnapshot, .correlation])
        #expect(throws: PassError.malformed(spec: "prune:theta=1,top=2%", reason: "give exactly one of theta=T and top=P%")) {
            try PassRegistry.make(PassSpec(parsing: "prune:theta=1,top=2%"))
        }
        #expect(throws: PassError.self) { try PassRegistry.make(PassSpec(parsing: "prune:top=2")) }
        #expect(throws: PassError.self) { try PassRegistry.make(PassSpec(parsing: "fisher-noise")) }
        // eps = 0 would divide zero by zero where the retain Fisher is 0.
        #expect(throws: PassError.self) { try PassRegistry.make(PassSpec(parsing: "fisher-noise:alpha=0,eps=0")) }
    }

    // MARK: slices

    @Test func slicesCoverTheTensorInOrder() {
        var companions = Companions()
        companions.sliceSize = 2
        #expect(companions.slices(of: 5) == [0..<2, 2..<4, 4..<5])
        #expect(companions.slices(of: 4) == [0..<2, 2..<4])
        #expect(companions.slices(of: 1) == [0..<1])
        #expect(companions.slices(of: 0).isEmpty)
        companions.sliceSize = 8
        #expect(companions.slices(of: 5) == [0..<5])
    }

    /// The hand-worked results above, with the companions read 1, 2, 4 (a slice boundary inside
    /// the (2, 3) kernel's rows), 5 (an odd last slice of one), 6 (exactly one) and 7 elements at a
    /// time: the same values, and the same tally, summed in the same order.
    @Test(arguments: [1, 2, 4, 5, 6, 7])
    func sliceSizeChangesNothing(sliceSize: Int) throws {
        let whole = Companions.standardSliceSize
        for spec in ["prune:theta=0.4", "prune:top=50%", "prune:top=17%", "negate:0.5", "revert:alpha=0.5,dw=0.4,select=dw"] {
            let sliced = try applyTallied(spec, w, pre: pre, sliceSize: sliceSize)
            let expected = try applyTallied(spec, w, pre: pre, sliceSize: whole)
            #expect(sliced.values == expected.values && sliced.changes == expected.changes, "\(spec), slices of \(sliceSize)")
        }
        #expect(try apply("prune:top=50%", w, pre: pre, sliceSize: sliceSize) == [0, 2, 0, 4, 0, 6])
        #expect(try apply("negate:0.5", w, pre: pre, sliceSize: sliceSize) == [0.75, 2.125, 2, 4, 5.5, 5.9375])
        #expect(try apply("revert:alpha=1,dw=0.1,corr=0.5", w, pre: pre, correlation: ([0.9, 0.1], [0.8, 0.9, 0.2]), sliceSize: sliceSize)
                == [0.5, 2.25, 3, 4, 5, 6])
        let fisher: [DataSplit: [Float]] = [.forget: [10, 1, 0, 50, 5, 2], .full: [0.5, 1, 1, 1, 1, 0]]
        #expect(try apply("ssd", w, fisher: fisher, sliceSize: sliceSize) == [Float(1.0 * 0.05), 2, 3, Float(4.0 * 0.02), 5, 0])
    }

    /// A (37, 27) kernel, 999 elements, in slices of 64 (15 whole and one of 39) and of 1000 (one):
    /// each pass against the formula applied element by element here, and prune's threshold
    /// against a sort of all |ΔW|.
    @Test(arguments: [64, 1000])
    func largerThanASlice(sliceSize: Int) throws {
        let layout = TensorLayout(info: TensorInfo(name: "k", dtype: .float32, shape: [37, 27]), layer: "l", role: .kernel, classAxis: 1)
        var random = SplitMix64(seed: 11)
        let w = (0..<999).map { _ in Float(random.nextGaussian()) }
        let pre = w.map { $0 - Float(random.nextGaussian() * 0.01) }
        let delta = (0..<999).map { Double(w[$0]) - Double(pre[$0]) }

        let negated = (0..<999).map { (i: Int) -> Float in Float(Double(pre[i]) + 0 + 0.75 * delta[i]) }
        #expect(try apply("negate:0.25", w, pre: pre, layout: layout, sliceSize: sliceSize) == negated)

        // 1% of 999 = 9.99 → the 9 largest |ΔW| (ties pruned too).
        let threshold = delta.map { abs($0) }.sorted(by: >)[8]
        let pruned = (0..<999).map { (i: Int) -> Float in abs(delta[i]) >= threshold ? 0 : w[i] }
        #expect(try apply("prune:top=1%", w, pre: pre, layout: layout, sliceSize: sliceSize) == pruned)
        #expect(pruned.filter { $0 == 0 }.count == 9)

        let reverted = (0..<999).map { (i: Int) -> Float in abs(delta[i]) > 0.01 ? Float(Double(w[i]) - 0.5 * delta[i]) : w[i] }
        #expect(try apply("revert:alpha=0.5,dw=0.01,select=dw", w, pre: pre, layout: layout, sliceSize: sliceSize) == reverted)

        let forget = (0..<999).map { _ in Float(abs(random.nextGaussian())) }
        let full = (0..<999).map { _ in Float(abs(random.nextGaussian()) * 0.2) }
        let dampened = (0..<999).map { (i: Int) -> Float in
            let (f, g) = (Double(forget[i]), Double(full[i]))
            guard f > 2 * g, f > 0 else { return w[i] }
            return Float(Double(w[i]) * min(g / f, 1))
        }
        #expect(try apply("ssd:alpha=2", w, fisher: [.forget: forget, .full: full], layout: layout, sliceSize: sliceSize) == dampened)
    }

    /// negate's float32 loop, eight elements a step in blocks of `NegatePass.block`, over three
    /// blocks and a tail of 13, with NaN, infinities and zeros of both signs among the values:
    /// every element's bits are the formula's computed one at a time here, and the tally counts
    /// the elements whose bits changed and the largest change among the finite ones.
    @Test(arguments: [1000, Companions.standardSliceSize])
    func negateInBlocksIsTheFormulaElementByElement(sliceSize: Int) throws {
        let count = 3 * NegatePass.block + 13
        let layout = TensorLayout(info: TensorInfo(name: "k", dtype: .float32, shape: [count]), layer: "l", role: .kernel, classAxis: 0)
        var random = SplitMix64(seed: 5)
        var w = (0..<count).map { _ in Float(random.nextGaussian()) }
        var pre = w.map { $0 - Float(random.nextGaussian() * 0.01) }
        for (i, (a, b)) in [(Float.nan, Float(1)), (1, .nan), (.infinity, 1), (1, -.infinity), (-0.0, 0), (0, -0.0), (2, 2), (-0.0, -0.0)].enumerated() {
            (w[8 * i + 3], pre[8 * i + 3]) = (a, b)
            (w[count - 1 - i], pre[count - 1 - i]) = (a, b)
        }
        let expected = (0..<count).map { (i: Int) -> Float in
            let (o, p) = (Double(w[i]), Double(pre[i]))
            return Float(p + (o - o) + 0.75 * (o - p))
        }
        let (got, changes) = try applyTallied("negate:0.25", w, pre: pre, layout: layout, sliceSize: sliceSize)
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
        let changed = (0..<count).filter { w[$0].bitPattern != expected[$0].bitPattern }
        #expect(changes.elementsChanged == changed.count)
        let finiteChanges = changed.filter { w[$0].isFinite && expected[$0].isFinite }.map { abs(Double(expected[$0]) - Double(w[$0])) }
        #expect(changes.maxAbs == finiteChanges.max())
    }

    /// After an earlier pass changed the tensor, ΔW still comes from the input's values (`original`):
    /// negate:1 of the edited tensor [9, 2, 3, 4, 5, 6] moves element 0 by −ΔW = −0.5 from 9.
    @Test(arguments: [1, 4, 6])
    func deltaComesFromTheInputAfterAnEarlierEdit(sliceSize: Int) throws {
        var companions = Companions()
        companions.sliceSize = sliceSize
        companions.original = .float32(w)
        companions.pre = CompanionTensor(.float32(pre))
        var edited = w
        edited[0] = 9
        var tensor = Tensor(info: kernel.info, values: .float32(edited))
        let pass = try #require(try PassRegistry.make(PassSpec(parsing: "negate:1")) as? any TensorPass)
        try pass.apply(to: &tensor, context: PassContext(tensor: kernel, target: ForgetTarget(), companions: companions))
        // pre + (W − W_input) + 0: pre everywhere but element 0, 0.5 + 8.
        #expect(tensor.values == .float32([8.5] + pre.dropFirst()))
    }

    /// top=P% marks what lies above the threshold's histogram bucket and picks the threshold among
    /// the values in that bucket: |ΔW| = 1.002 (four times, once as a negative change), 1.001 and
    /// 1 share 1's bucket (they differ past the top 8 mantissa bits). Of the 19 that are not NaN,
    /// 20% is 3.8 → the 3 largest: 4, then 1.002, a tie that takes all four; 1.001 and 1 stay, and
    /// so does the NaN.
    @Test(arguments: [3, 1000])
    func pruneTopPicksInsideTheThresholdsBucket(sliceSize: Int) throws {
        let layout = TensorLayout(info: TensorInfo(name: "k", dtype: .float32, shape: [4, 5]), layer: "l", role: .kernel, classAxis: 1)
        var w: [Float] = [0.25, 1.002, 4, 1, 1.002, 0.5, .nan, 1.001, 1.002, 0.125] + Array(repeating: 0.0625, count: 10)
        w[15] = -1.002
        let pre = [Float](repeating: 0, count: 20)
        var expected = w
        for i in [1, 2, 4, 8, 15] { expected[i] = 0 }
        let got = try apply("prune:top=20%", w, pre: pre, layout: layout, sliceSize: sliceSize)
        #expect(got.map(\.bitPattern) == expected.map(\.bitPattern))
    }

    /// negate on float64 tensors and snapshots: the same formula as for float32, in the loop that
    /// reads every precision (hand values as in `negateSubtractsLambdaDeltas`).
    @Test func negateOnFloat64() throws {
        let info = TensorInfo(name: "k", dtype: .float64, shape: [2, 3])
        let layout = TensorLayout(info: info, layer: "l", role: .kernel, classAxis: 1)
        var companions = Companions()
        companions.pre = CompanionTensor(.float64(pre.map(Double.init)))
        var tensor = Tensor(info: info, values: .float64(w.map(Double.init)))
        let pass = try #require(try PassRegistry.make(PassSpec(parsing: "negate:0.5")) as? any TensorPass)
        try pass.apply(to: &tensor, context: PassContext(tensor: layout, target: ForgetTarget(), companions: companions))
        #expect(tensor.values == .float64([0.75, 2.125, 2, 4, 5.5, 5.9375]))
        #expect(tensor.changes.elementsChanged == 5)
    }

    /// prune:top=P% against a sort of every |ΔW| that is not NaN, on a (80, 50) kernel whose values
    /// and changes are multiples of 2^-10 and 2^-12 (exact in float32, so many changes tie; every
    /// 97th snapshot value is NaN): the P% largest, ties at the threshold too, never a 0 change.
    /// The small shares are taken in one scan, the tied large ones fall back to two.
    @Test(arguments: [7, 1000, Companions.standardSliceSize])
    func pruneTopMatchesASortOfEveryDelta(sliceSize: Int) throws {
        let layout = TensorLayout(info: TensorInfo(name: "k", dtype: .float32, shape: [80, 50]), layer: "l", role: .kernel, classAxis: 1)
        var random = SplitMix64(seed: 29)
        let w = (0..<4000).map { _ in Float((random.nextGaussian() * 1024).rounded() / 1024) }
        let pre = (0..<4000).map { i in i % 97 == 0 ? .nan : w[i] - Float((random.nextGaussian() * 0.01 * 4096).rounded() / 4096) }
        let sizes = (0..<4000).map { abs(Double(w[$0]) - Double(pre[$0])) }
        let sorted = sizes.filter { !$0.isNaN }.sorted(by: >)
        for percent in [0.1, 1, 2.5, 20, 100] {
            let k = Int((percent / 100 * Double(sorted.count)).rounded(.down))
            let threshold = k >= 1 ? max(sorted[k - 1], .leastNonzeroMagnitude) : .infinity
            let expected = (0..<4000).map { sizes[$0] >= threshold ? 0 : w[$0] }
            let got = try apply("prune:top=\(percent)%", w, pre: pre, layout: layout, sliceSize: sliceSize)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "top=\(percent)%")
        }
    }

    /// The one-scan collector against a sort: whatever the order, every value that is among the
    /// `limit` largest is kept, in index order, and the k-th largest is exact for k up to `limit`
    /// (looked at at both ends and the middle). 3000 of 40,000 fills a store large enough to be
    /// cut by buckets first.
    @Test(arguments: [1, 3, 50, 3000])
    func topValueCollectorKeepsWhatCanStillBeAmongTheLargest(limit: Int) {
        var random = SplitMix64(seed: UInt64(limit))
        let values = (0..<40_000).map { i in i % 101 == 0 ? .nan : (abs(random.nextGaussian()) * 4096).rounded() / 4096 }
        let collector = TopValueCollector(limit: limit)
        for (i, value) in values.enumerated() { collector.offer(i, value) }
        let sorted = values.filter { !$0.isNaN }.sorted(by: >)
        #expect(!collector.isOverflowing)
        #expect(collector.values.count < 2 * limit)
        for k in Set([1, 2, limit / 2, limit - 1, limit]) where k >= 1 && k <= limit { #expect(collector.largest(k) == sorted[k - 1], "k = \(k)") }
        #expect(collector.largest(0) == nil)
        let kept = values.indices.filter { values[$0] >= sorted[limit - 1] }
        #expect(collector.indices.filter { values[$0] >= sorted[limit - 1] } == kept)
        #expect(collector.indices == collector.indices.sorted())
        #expect(collector.indices.map { values[$0] } == collector.values)
    }

    /// A store cut by buckets as the stream ends: 6,000 values fill the store of limit 3,000 at
    /// the last one, so the cut must keep the 3,000th largest itself, which lies in the bucket
    /// the cut is made at (its lower edge, not its upper one).
    @Test func aStoreCutByBucketsKeepsTheLimitThLargest() {
        var random = SplitMix64(seed: 41)
        let values = (0..<6000).map { _ in abs(random.nextGaussian()) }
        let collector = TopValueCollector(limit: 3000)
        for (i, value) in values.enumerated() { collector.offer(i, value) }
        let sorted = values.sorted(by: >)
        #expect(collector.values.count < 6000)  // it was cut
        #expect(collector.largest(3000) == sorted[2999])
        let (kept, expected) = (collector.indices(atLeast: sorted[2999]), values.indices.filter { values[$0] >= sorted[2999] })
        #expect(kept == expected, "\(kept.count) kept of the \(expected.count) largest")
    }

    /// revert's scan: strictly over the threshold (a change of exactly 0.25 is not), never NaN,
    /// in order, across whole blocks of eight and the tail, for float32 and float64 alike.
    @Test func indicesWhereTheChangeExceedsAThreshold() {
        let steps: [Float] = [0.5, 0.25, -0.5, 0, .nan, -0.25, 0.3, -0.3, 1, 0.1, -2, .infinity, 0.25, 0.26, -0.26, 0, 0.7, 0.2, -1]
        let pre = [Float](repeating: 1, count: steps.count)
        let w = zip(pre, steps).map { $0 + $1 }
        let expected = [0, 2, 6, 7, 8, 10, 11, 13, 14, 16, 18].map { $0 + 40 }  // the slice starts at flat index 40
        let float32 = SnapshotSlice(range: 40..<(40 + steps.count), originalValues: .float32(w), preValues: .float32(pre))
        #expect(float32.indices(whereChangeExceeds: 0.25) == expected)
        let float64 = SnapshotSlice(range: 40..<(40 + steps.count), originalValues: .float64(w.map(Double.init)), preValues: .float64(pre.map(Double.init)))
        #expect(float64.indices(whereChangeExceeds: 0.25) == expected)
    }

    /// The collector's selection against a sort, for every k: random values, few distinct values,
    /// ascending, descending, all equal, one value.
    @Test func quickselectFindsTheKthLargest() {
        var random = SplitMix64(seed: 5)
        let arrays: [[Double]] = [
            (0..<300).map { _ in random.nextGaussian() },
            (0..<300).map { _ in Double(random.next() % 4) },
            (0..<300).map(Double.init), (0..<300).reversed().map(Double.init),
            [Double](repeating: 2, count: 300), [7],
        ]
        for array in arrays {
            let sorted = array.sorted(by: >)
            for k in 1...array.count {
                var scratch = array
                let found = scratch.withUnsafeMutableBufferPointer { TopValueCollector.largest(k, reordering: &$0) }
                #expect(found == sorted[k - 1], "k = \(k) of \(array.prefix(4))…")
            }
        }
    }

    /// Ties that would fill the collector make it give up: |ΔW| cycles through 0, 0.25 and 0.5, and
    /// 10% of 3000 is 300 of the 1,000 tied at 0.5. prune then scans twice and prunes all 1,000.
    @Test func pruneTopScansTwiceWhenTiesFillTheCollector() throws {
        let steps = (0..<3000).map { [0, 0.25, 0.5][$0 % 3] }
        let collector = TopValueCollector(limit: 300)
        for (i, step) in steps.enumerated() { collector.offer(i, step) }
        #expect(collector.isOverflowing)

        let layout = TensorLayout(info: TensorInfo(name: "k", dtype: .float32, shape: [60, 50]), layer: "l", role: .kernel, classAxis: 1)
        let w = [Float](repeating: 1, count: 3000)
        let pre = steps.map { Float(1 - $0) }
        let expected = (0..<3000).map { $0 % 3 == 2 ? Float(0) : 1 }
        #expect(try apply("prune:top=10%", w, pre: pre, layout: layout, sliceSize: 256) == expected)
    }

    /// The prune mask gives back what was inserted, once each, in ascending order, across words.
    @Test func indexMaskIteratesInOrder() {
        var mask = IndexMask(capacity: 131)
        for i in [130, 64, 0, 63, 5, 64] { mask.insert(i) }
        #expect(Array(mask) == [0, 5, 63, 64, 130])
        #expect(Array(IndexMask(capacity: 0)).isEmpty)
        #expect(Array(IndexMask(capacity: 64)).isEmpty)
    }
}
