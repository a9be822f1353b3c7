import Foundation
import Testing
@testable import Engine

/// `VectorMath`'s sigmoid and tanh against double-precision references (Foundation's `exp` and
/// `tanh` on Double) over a dense sweep, and against libm's Float results; their edge values.
///
/// The bound: Cephes' expf and tanhf are each within about 1.5 ulp (2^−23 relative per ulp);
/// sigmoid's 1 + e and division add at most one rounding each, and tanh's 1 − 2/(e + 1) for
/// |x| ≥ 0.625 (where the result is at least 0.55) at most about one ulp more. 2.5e−7 (2.1 × 2^−23)
/// is above what was measured on a denser sweep (every 97th float; sigmoid 1.47e−7, tanh 1.39e−7;
/// libm's own float results are 1.42e−7 and 1.64e−7 from the same references). Results below the normal range (sigmoid of
/// x < −87.3) are held to within 2^−126 absolute.
@Suite struct VectorMathTests {
    static let bound = 2.5e-7

    /// −120…120 in steps of 0.001, every 1021st float of magnitude 1e−4…100 and ±m·10^e.
    static let sweep: [Float] = {
        var xs = (0...240_000).map { Float(-120 + Double($0) * 0.001) }
        var bits = Float(1e-4).bitPattern
        while bits < Float(100).bitPattern {
            xs += [Float(bitPattern: bits), -Float(bitPattern: bits)]
            bits += 1021
        }
        for e in -45...38 {
            for m in [1.0, 1.3, 2.9, 5.5, 8.1] {
                let x = Float(m * pow(10, Double(e)))
                if x.isFinite { xs += [x, -x] }
            }
        }
        return xs
    }()

    static func error(_ y: Float, _ reference: Double) -> Double {
        let difference = abs(Double(y) - reference)
        return abs(reference) < Double(Float.leastNormalMagnitude) ? (difference <= Double(Float.leastNormalMagnitude) ? 0 : .infinity)
            : difference / abs(reference)
    }

    static func worst(_ function: (UnsafeMutablePointer<Float>, Int) -> Void, _ reference: (Double) -> Double,
                      _ libm: (Float) -> Float) -> (reference: Double, libm: Double, at: Float) {
        var ys = sweep
        ys.withUnsafeMutableBufferPointer { function($0.baseAddress!, $0.count) }
        var worst = (reference: 0.0, libm: 0.0, at: Float(0))
        for (x, y) in zip(sweep, ys) {
            let e = error(y, reference(Double(x)))
            if e > worst.reference { worst = (e, worst.libm, x) }
            worst.libm = max(worst.libm, error(y, Double(libm(x))))
        }
        return worst
    }

    @Test func sigmoidIsWithinTheBound() {
        let worst = Self.worst({ VectorMath.sigmoid($0, count: $1) }, { 1 / (1 + Foundation.exp(-$0)) }, { 1 / (1 + Foundation.exp(-$0)) })
        #expect(worst.reference <= Self.bound, "sigmoid(\(worst.at)): relative error \(worst.reference)")
        #expect(worst.libm <= 2 * Self.bound, "from libm's float sigmoid: \(worst.libm)")
    }

    @Test func tanhIsWithinTheBound() {
        let worst = Self.worst({ VectorMath.tanh($0, count: $1) }, { Foundation.tanh($0) }, { Foundation.tanh($0) })
        #expect(worst.reference <= Self.bound, "tanh(\(worst.at)): relative error \(worst.reference)")
        #expect(worst.libm <= 2 * Self.bound, "from libm's float tanh: \(worst.libm)")
    }

    @Test func edgeValues() {
        let cases: [(x: Float, sigmoid: Float, tanh: Float)] = [
            (0, 0.5, 0), (-0.0, 0.5, -0.0), (.infinity, 1, 1), (-.infinity, 0, -1), (1e30, 1, 1), (-1e30, 0, -1),
            (89, 1, 1), (-89, 0, -1), (.leastNonzeroMagnitude, 0.5, .leastNonzeroMagnitude),
            (-.leastNonzeroMagnitude, 0.5, -.leastNonzeroMagnitude), (.greatestFiniteMagnitude, 1, 1),
        ]
        for (x, sigmoid, tanh) in cases {
            #expect(VectorMath.sigmoid(x).bitPattern == sigmoid.bitPattern, "sigmoid(\(x)) = \(VectorMath.sigmoid(x))")
            #expect(VectorMath.tanh(x).bitPattern == tanh.bitPattern, "tanh(\(x)) = \(VectorMath.tanh(x))")
        }
        #expect(VectorMath.sigmoid(.nan).isNaN && VectorMath.tanh(.nan).isNaN)
        #expect(VectorMath.sigmoid(-.nan).isNaN && VectorMath.tanh(-.nan).isNaN)  // NaN with its sign bit set
        #expect(VectorMath.sigmoid(-88.5) > 0 && VectorMath.sigmoid(-88.5).isSubnormal)
    }

    /// A buffer's last values (fewer than eight) get the same arithmetic as the rest and as one value.
    @Test func buffersAgreeWithOneValue() {
        let xs: [Float] = (0..<13).map { Float($0) * 0.7 - 4 } + [.nan, -0.0]
        for function in [ActivationFunction.sigmoid, .tanh] {
            var ys = xs
            function.apply(&ys, classes: 1)
            for (x, y) in zip(xs, ys) {
                let one = function.value(x)
                #expect(y.bitPattern == one.bitPattern || (y.isNaN && one.isNaN), "\(function)(\(x)): \(y) in a buffer, \(one) alone")
            }
        }
    }
}
