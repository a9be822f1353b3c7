/// The logistic sigmoid and tanh over buffers of Float, eight values at a time (`SIMD8<Float>`),
/// both from one exp: the gates of the recurrent layers and the activations applied to whole
/// outputs call these instead of libm once per value.
///
/// - exp(v) is Cephes' `expf`: v = k·ln 2 + r with k = round(v / ln 2) and ln 2 split in two
///   (Cody–Waite) so r is exact to |r| ≤ ln 2 / 2, then e^r = 1 + r + r²·P(r) (P of degree 5),
///   scaled by 2^k in two halves, so results below the normal range round once to subnormals and
///   results above it become +∞. v is clamped to [−104, 100] first: beyond, e^v is 0 or +∞ anyway.
/// - sigmoid(x) = 1 / (1 + e^−x), as Keras defines it: 0 for x ≤ −89 where e^−x is +∞, 1 for large x.
/// - tanh(x) is Cephes' `tanhf` on |x| with the sign of x put back (so tanh(−0) = −0): for
///   |x| < 0.625 the odd polynomial x + x³·Q(x²), else 1 − 2 / (e^2|x| + 1), which is 1 for large |x|.
/// NaN in, NaN out. `VectorMathTests` measures the error against double-precision references.
enum VectorMath {
    typealias Vector = SIMD8<Float>

    /// e^v; NaN for NaN (the clamp's comparisons are false for it, and its products are NaN
    /// whatever its bits make of the scale).
    @inline(__always) static func exp(_ v: Vector) -> Vector {
        var v = v.replacing(with: 100, where: v .> 100)
        v.replace(with: -104, where: v .< -104)
        // Adding 1.5·2^23 rounds v / ln 2 to an integer k in the low bits of the sum.
        let shifted = v * 1.44269504088896341 + 12_582_912
        let k = shifted - 12_582_912
        var r = v - k * 0.693359375
        r = r - k * -2.12194440e-4
        var p = 1.9875691500e-4 * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        p = p * (r * r) + r + 1
        // 2^k as 2^(k >> 1) · 2^(k − k >> 1): both factors are normal for k in [−150, 145].
        let kBits = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let low = kBits &>> 1, high = kBits &- low
        let lowScale = unsafeBitCast((low &+ 127) &<< 23, to: Vector.self)
        let highScale = unsafeBitCast((high &+ 127) &<< 23, to: Vector.self)
        return p * lowScale * highScale
    }

    @inline(__always) static func sigmoid(_ x: Vector) -> Vector { 1 / (1 + exp(-x)) }

    @inline(__always) static func tanh(_ x: Vector) -> Vector {
        let bits = unsafeBitCast(x, to: SIMD8<UInt32>.self)
        let a = unsafeBitCast(bits & 0x7FFF_FFFF, to: Vector.self)
        let z = a * a
        var q = -5.70498872745e-3 * z + 2.06390887954e-2
        q = q * z - 5.37397155531e-2
        q = q * z + 1.33314422036e-1
        q = q * z - 3.33332819422e-1
        let small = q * z * a + a
        let large = 1 - 2 / (exp(a + a) + 1)
        let magnitude = large.replacing(with: small, where: a .< 0.625)
        return unsafeBitCast(unsafeBitCast(magnitude, to: SIMD8<UInt32>.self) | (bits & 0x8000_0000), to: Vector.self)
    }

    /// A function of eight values at a time, as a type: `map` is specialised for each and the
    /// function inlined into its loop (a closure argument was called once per vector).
    protocol Kernel { static func value(_ x: Vector) -> Vector }
    enum Sigmoid: Kernel { @inline(__always) static func value(_ x: Vector) -> Vector { sigmoid(x) } }
    enum Tanh: Kernel { @inline(__always) static func value(_ x: Vector) -> Vector { tanh(x) } }

    /// Writes `K` of each of `count` values from `source` to `destination` (the same buffer or one
    /// that does not overlap it), eight at a time; the last few through one vector padded with
    /// zeros, so every value gets the same arithmetic.
    static func map<K: Kernel>(_: K.Type, _ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        let (from, to) = (UnsafeRawPointer(source), UnsafeMutableRawPointer(destination))
        var i = 0
        while i &+ 8 <= count {
            let x = from.loadUnaligned(fromByteOffset: i &* 4, as: Vector.self)
            to.storeBytes(of: K.value(x), toByteOffset: i &* 4, as: Vector.self)
            i &+= 8
        }
        guard i < count else { return }
        var x = Vector(repeating: 0)
        for j in 0..<(count &- i) { x[j] = source[i &+ j] }
        let y = K.value(x)
        for j in 0..<(count &- i) { destination[i &+ j] = y[j] }
    }

    static func sigmoid(_ values: UnsafeMutablePointer<Float>, count: Int) { map(Sigmoid.self, values, into: values, count: count) }
    static func tanh(_ values: UnsafeMutablePointer<Float>, count: Int) { map(Tanh.self, values, into: values, count: count) }
    static func sigmoid(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        map(Sigmoid.self, source, into: destination, count: count)
    }
    static func tanh(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        map(Tanh.self, source, into: destination, count: count)
    }

    /// One value, through the same arithmetic as the buffers.
    static func sigmoid(_ x: Float) -> Float { sigmoid(Vector(repeating: x))[0] }
    static func tanh(_ x: Float) -> Float { tanh(Vector(repeating: x))[0] }
}
