import Foundation

/// SplitMix64 (Steele, Lea, Flood 2014): a small, fast generator whose stream is fixed by its seed
/// on every platform, so seeded passes and seeded shuffling give the same bytes everywhere.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in (0, 1): 53 random bits, never 0.
    public mutating func nextUnit() -> Double {
        (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992.0
    }

    /// A standard normal draw (Box–Muller, one of the pair).
    public mutating func nextGaussian() -> Double {
        let u = nextUnit(), v = nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }

    /// FNV-1a of a string's UTF-8 bytes: mixes a tensor's name into a seed.
    public static func fnv1a(_ text: String) -> UInt64 {
        text.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x0000_0100_0000_01B3 }
    }
}

extension Array {
    /// The elements in an order fixed by `random` (Fisher–Yates, drawing indices by rejection so
    /// every order is equally likely and the stream is the same on every platform).
    public func shuffled(by random: inout SplitMix64) -> [Element] {
        var result = self
        guard result.count > 1 else { return result }
        for i in stride(from: result.count - 1, to: 0, by: -1) {
            let bound = UInt64(i + 1)
            let limit = UInt64.max - UInt64.max % bound
            var draw = random.next()
            while draw >= limit { draw = random.next() }
            result.swapAt(i, Int(draw % bound))
        }
        return result
    }
}
