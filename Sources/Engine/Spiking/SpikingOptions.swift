/// How a spiking network is simulated: the number of time steps, the step, the reset rule and how
/// the data becomes input. A NIR file records none of these, so they are options of the run.
public struct SpikingOptions: Sendable, Equatable {
    /// What happens to a neuron's membrane when it spikes.
    public enum Reset: String, Sendable, CaseIterable {
        /// snnTorch's `Leaky` (its default): the spike of step t is seen at step t+1, which then
        /// subtracts the threshold: r_t = [v_{t−1} > θ]; v_t = β·v_{t−1} + g·I_t − r_t·θ; s_t = [v_t > θ],
        /// β = 1 − dt/τ, g = R·dt/τ (taken as 1 within 1e-6: snnTorch's exports store R = τ/dt).
        case subtractDelayed = "subtract-delayed"
        /// NIR's equations (Euler, step dt): v ← (1 − dt/τ)·v + (dt/τ)·v_leak + (R·dt/τ)·I; s = [v > θ];
        /// v ← v_reset where s.
        case nir
    }

    /// How samples become input over time.
    public enum Encoding: Sendable, Equatable {
        /// Each value (clamped to [0, 1]) is the probability of a spike at each step: one 32-bit draw
        /// per value and step from SplitMix64 seeded with the seed and the sample's index in its data.
        case rate(seed: UInt64)
        /// The value itself is the input current at every step.
        case current
        /// The samples are spike trains already: each holds `steps` rows of the input shape.
        case spikes
    }

    public var steps: Int
    public var dt: Double
    public var reset: Reset
    public var encoding: Encoding

    public init(steps: Int = 25, dt: Double = 1e-4, reset: Reset = .subtractDelayed, encoding: Encoding = .rate(seed: 0)) {
        self.steps = steps
        self.dt = dt
        self.reset = reset
        self.encoding = encoding
    }

    /// The options as the records state them.
    public var description: String {
        let encoding = switch encoding {
        case .rate(let seed): "rate (seed \(seed))"
        case .current: "current"
        case .spikes: "spikes"
        }
        return "\(steps) steps of dt = \(dt), reset \(reset.rawValue), input \(encoding)"
    }
}
