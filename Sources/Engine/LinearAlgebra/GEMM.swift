internal import CBLAS

/// Row-major single-precision matrix products through the system's CBLAS (OpenBLAS). The only
/// file that imports it.
enum GEMM {
    /// The engine runs batches on all cores itself (`NetworkRunner`), so OpenBLAS works on the
    /// calling thread: its own threads would only compete for the same cores.
    private static let singleThreaded: Void = openblas_set_num_threads(1)

    /// C (m × n) = alpha · op(A) · op(B) + beta · C, where op(A) is m × k and op(B) is k × n.
    static func multiply(_ a: UnsafePointer<Float>, transposeA: Bool = false, _ b: UnsafePointer<Float>, transposeB: Bool = false,
                         into c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0) {
        guard m > 0, n > 0, k > 0 else { return }
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    beta, c, Int32(n))
    }

    /// Array form of `multiply`: returns op(A) · op(B) (+ beta · initial).
    static func product(_ a: [Float], transposeA: Bool = false, _ b: [Float], transposeB: Bool = false,
                        m: Int, n: Int, k: Int, alpha: Float = 1, adding initial: [Float]? = nil) -> [Float] {
        var c = initial ?? [Float](repeating: 0, count: m * n)
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    multiply(a.baseAddress!, transposeA: transposeA, b.baseAddress!, transposeB: transposeB, into: c.baseAddress!,
                             m: m, n: n, k: k, alpha: alpha, beta: initial == nil ? 0 : 1)
                }
            }
        }
        return c
    }
}
