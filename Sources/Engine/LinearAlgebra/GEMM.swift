internal import CBLAS

/// Row-major single-precision matrix products through the system's CBLAS (OpenBLAS). The only
/// file that imports it.
enum GEMM {
    /// The engine runs batches on all cores itself (`NetworkRunner`), so OpenBLAS works on the
    /// calling thread, and the thread pool it started when loaded is ended: its threads would only
    /// compete for the same cores (see the shim).
    private static let singleThreaded: Void = ckf_openblas_single_threaded()

    /// C (m × n) = alpha · op(A) · op(B) + beta · C, where op(A) is m × k and op(B) is k × n. C's
    /// rows lie `rowStride` values apart (n when nil): C can be a block of columns of a wider matrix.
    static func multiply(_ a: UnsafePointer<Float>, transposeA: Bool = false, _ b: UnsafePointer<Float>, transposeB: Bool = false,
                         into c: UnsafeMutablePointer<Float>, m: Int, n: Int, k: Int, alpha: Float = 1, beta: Float = 0,
                         rowStride: Int? = nil) {
        guard m > 0, n > 0, k > 0 else { return }
        precondition((rowStride ?? n) >= n, "C's rows overlap")
        _ = singleThreaded
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(transposeA ? m : k), b, Int32(transposeB ? k : n),
                    beta, c, Int32(rowStride ?? n))
    }

    /// Array form of `multiply`: returns op(A) · op(B).
    static func product(_ a: [Float], transposeA: Bool = false, _ b: [Float], transposeB: Bool = false,
                        m: Int, n: Int, k: Int, alpha: Float = 1) -> [Float] {
        // An empty product is all zeros; else C is only written (beta = 0), so it needs no zeroing.
        guard m > 0, n > 0, k > 0 else { return [Float](repeating: 0, count: m * n) }
        return [Float](unsafeUninitializedCapacity: m * n) { c, initialized in
            a.withUnsafeBufferPointer { a in
                b.withUnsafeBufferPointer { b in
                    multiply(a.baseAddress!, transposeA: transposeA, b.baseAddress!, transposeB: transposeB, into: c.baseAddress!,
                             m: m, n: n, k: k, alpha: alpha)
                }
            }
            initialized = m * n
        }
    }

    /// C += A · B for row-major arrays (A m × k, B k × n, C m × n): the product adds itself onto C
    /// in place (beta = 1), as onto rows that hold a bias.
    static func add(_ a: [Float], times b: [Float], to c: inout [Float], m: Int, n: Int, k: Int) {
        precondition(a.count == m * k && b.count == k * n && c.count == m * n, "operands do not fit \(m) × \(k) · \(k) × \(n)")
        guard m > 0, n > 0, k > 0 else { return }
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    multiply(a.baseAddress!, b.baseAddress!, into: c.baseAddress!, m: m, n: n, k: k, beta: 1)
                }
            }
        }
    }
}
