import Testing
@testable import Engine

/// The matrix product's forms the layers rely on, with numbers worked by hand.
@Suite struct GEMMTests {
    /// [[1, 2], [3, 4]] · [[5, 6], [7, 8]] = [[19, 22], [43, 50]], added into columns 1 and 2 of a
    /// 2 × 4 matrix of ones (rows 4 apart), as a recurrent step adds h·R into its rows of the
    /// projection: the other columns stay as they were.
    @Test func productAddsItselfIntoABlockOfAWiderMatrix() {
        let (a, b): ([Float], [Float]) = ([1, 2, 3, 4], [5, 6, 7, 8])
        var c = [Float](repeating: 1, count: 8)
        c.withUnsafeMutableBufferPointer { c in
            GEMM.multiply(a, b, into: c.baseAddress! + 1, m: 2, n: 2, k: 2, beta: 1, rowStride: 4)
        }
        #expect(c == [1, 20, 23, 1, 1, 44, 51, 1])
    }

    /// A bias in every row with the product added onto it in place; with nothing to multiply (k =
    /// 0, as for an empty input) the bias alone.
    @Test func productAddedOntoRepeatedRows() {
        let bias: [Float] = [0.5, -1]
        #expect([Float](rows: bias, count: 3) == [0.5, -1, 0.5, -1, 0.5, -1])
        #expect([Float](rows: bias, count: 0).isEmpty && [Float](rows: [], count: 3).isEmpty)
        var c = [Float](rows: bias, count: 2)
        GEMM.add([1, 2, 3, 4], times: [5, 6, 7, 8], to: &c, m: 2, n: 2, k: 2)
        #expect(c == [19.5, 21, 43.5, 49])
        var untouched = [Float](rows: bias, count: 2)
        GEMM.add([], times: [], to: &untouched, m: 2, n: 2, k: 0)
        #expect(untouched == [0.5, -1, 0.5, -1])
        #expect(GEMM.product([], [], m: 2, n: 2, k: 0) == [0, 0, 0, 0])
    }
}
