import Testing
import Checkpoint
@testable import Forgetting

/// The class passes on small tensors whose results are worked out by hand.
@Suite struct ClassPassTests {
    /// A (3, 4) Keras kernel holding 1...12 (class axis 1) and its PyTorch transpose (4, 3) (class axis 0).
    private let keras = TensorLayout(info: TensorInfo(name: "k", dtype: .float32, shape: [3, 4]), layer: "out", role: .kernel, classAxis: 1)
    private let torch = TensorLayout(info: TensorInfo(name: "w", dtype: .float32, shape: [4, 3]), layer: "out", role: .kernel, classAxis: 0)

    private func run(_ spec: String, on layout: TensorLayout, values: [Float], classes: [Int]) throws -> [Float] {
        let pass = try #require(try PassRegistry.make(PassSpec(parsing: spec)) as? any TensorPass)
        var tensor = Tensor(info: layout.info, values: .float32(values))
        try pass.apply(to: &tensor, context: PassContext(tensor: layout, target: ForgetTarget(classes: classes)))
        guard case .float32(let result) = tensor.values else { return [] }
        return result
    }

    @Test func dampenScalesOnlyTheClassColumnOfAKerasKernel() throws {
        let out = try run("dampen:0.5", on: keras, values: (1...12).map(Float.init), classes: [2])
        // Column 2 holds 3, 7, 11 → 1.5, 3.5, 5.5.
        #expect(out == [1, 2, 1.5, 4, 5, 6, 3.5, 8, 9, 10, 5.5, 12])
    }

    @Test func dampenScalesOnlyTheClassRowOfATorchWeight() throws {
        let out = try run("dampen:0.5", on: torch, values: (1...12).map(Float.init), classes: [2])
        // Row 2 holds 7, 8, 9.
        #expect(out == [1, 2, 3, 4, 5, 6, 3.5, 4, 4.5, 10, 11, 12])
    }

    @Test func zeroClearsEveryGivenClass() throws {
        let out = try run("zero", on: keras, values: (1...12).map(Float.init), classes: [0, 3])
        #expect(out == [0, 2, 3, 0, 0, 6, 7, 0, 0, 10, 11, 0])
    }

    @Test func biasEntriesAreTheClassIndex() throws {
        let bias = TensorLayout(info: TensorInfo(name: "b", dtype: .float32, shape: [4]), layer: "out", role: .bias, classAxis: 0)
        #expect(try run("dampen:0.25", on: bias, values: [4, 8, 12, 16], classes: [1]) == [4, 2, 12, 16])
    }

    @Test func randomizeIsDeterministicAndMatchesTheOtherClasses() throws {
        // A (2000, 5) kernel whose other columns alternate -1 and 3 by row (mean 1, deviation 2);
        // column 2 (the forget class) starts at 100 so any leak into the statistics shows.
        let layout = TensorLayout(info: TensorInfo(name: "big", dtype: .float32, shape: [2000, 5]), layer: "out", role: .kernel, classAxis: 1)
        var values = [Float](repeating: 0, count: 10_000)
        for i in values.indices {
            let row = i / 5
            values[i] = i % 5 == 2 ? 100 : (row % 2 == 0 ? -1 : 3)  // other classes: mean 1, deviation 2
        }
        let a = try run("randomize:seed=5", on: layout, values: values, classes: [2])
        let b = try run("randomize:seed=5", on: layout, values: values, classes: [2])
        let c = try run("randomize:seed=6", on: layout, values: values, classes: [2])
        #expect(a == b)
        #expect(a != c)
        let drawn = (0..<2000).map { Double(a[$0 * 5 + 2]) }
        let mean = drawn.reduce(0, +) / 2000
        let deviation = (drawn.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 2000).squareRoot()
        // Standard error of the mean is 2/√2000 ≈ 0.045: 0.2 is over four of them.
        #expect(abs(mean - 1) < 0.2, "mean \(mean)")
        #expect(abs(deviation - 2) < 0.2, "deviation \(deviation)")
        for i in values.indices where i % 5 != 2 { #expect(a[i] == values[i]) }
    }

    /// Class 3's standard-normal draws are the same whether or not class 0 is forgotten too; only
    /// the statistics they are scaled by (those of the classes kept) differ.
    @Test func randomizeDrawsForAClassDoNotDependOnTheOtherClasses() throws {
        let values = (1...12).map(Float.init)
        func standardized(_ out: [Float], keptColumns: [Int]) -> [Double] {
            let kept = keptColumns.flatMap { c in AxisSlice(shape: [3, 4], axis: 1, index: c).map { Double(values[$0]) } }
            let mean = kept.reduce(0, +) / Double(kept.count)
            let deviation = (kept.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(kept.count)).squareRoot()
            return AxisSlice(shape: [3, 4], axis: 1, index: 3).map { (Double(out[$0]) - mean) / deviation }
        }
        let alone = standardized(try run("randomize:seed=1", on: keras, values: values, classes: [3]), keptColumns: [0, 1, 2])
        let together = standardized(try run("randomize:seed=1", on: keras, values: values, classes: [0, 3]), keptColumns: [1, 2])
        for (a, b) in zip(alone, together) { #expect(abs(a - b) < 1e-5, "\(a) vs \(b)") }
    }

    @Test func editRecordsCountChangedElements() {
        let edit = TensorEdit(tensor: "t", before: .float32([1, 2, 3, 0]), after: .float32([1, 0, 6, -0.0]))
        #expect(edit.elementsChanged == 3)  // 2→0, 3→6 and 0→-0 (a different stored value)
        #expect(edit.l2 == (4.0 + 9.0).squareRoot())
        #expect(edit.maxAbs == 3)
    }
}
