extension SpikingNeurons {
    /// A leaky integrate-and-fire membrane with per-unit constants, stepped by either reset rule,
    /// four units at a time: every lane does the float32 operations of the one-unit step in the
    /// same order (a select where that step branches), so the spikes are the same.
    struct Membrane {
        /// Per unit: β, the gain on the input, the leak term, θ and the reset value, one after
        /// another (`width` each).
        private let constants: [Float]
        let width: Int
        let rule: SpikingOptions.Reset

        init(tau: [Float], r: [Float], leak: [Float], threshold: [Float], reset: [Float], options: SpikingOptions) {
            let dt = options.dt
            // β = float32(1 − dt/τ) computed in double: snnTorch's β bit for bit from the τ its exporter stored.
            let decay = tau.map { Float(1 - dt / Double($0)) }
            let gain = zip(r, tau).map { r, tau in
                let g = Double(r) * dt / Double(tau)
                return options.reset == .subtractDelayed && abs(g - 1) < 1e-6 ? 1 : Float(g)
            }
            let leakTerm = zip(leak, tau).map { leak, tau in Float(dt / Double(tau)) * leak }
            constants = decay + gain + leakTerm + threshold + reset
            width = tau.count
            rule = options.reset
        }

        /// Steps every unit of every sample through the sample-major `current` and returns the
        /// spikes (0 or 1), each written once (the array is not zero-filled first); each sample's
        /// membranes start at 0.
        func run(_ current: [Float], steps: Int, samples n: Int) -> [Float] {
            let w = width
            precondition(current.count == n * steps * w)
            guard w > 0, n > 0, steps > 0 else { return [Float](repeating: 0, count: current.count) }
            var membrane = [Float](repeating: 0, count: w)
            return [Float](unsafeUninitializedCapacity: current.count) { out, initialized in
                current.withUnsafeBufferPointer { current in
                    membrane.withUnsafeMutableBufferPointer { v in
                        constants.withUnsafeBufferPointer { constants in
                            let c = constants.baseAddress!
                            let unit = Unit(decay: c, gain: c + w, leak: c + 2 &* w, theta: c + 3 &* w, reset: c + 4 &* w, v: v.baseAddress!)
                            for s in 0..<n {
                                v.update(repeating: 0)
                                for t in 0..<steps {
                                    let base = (s &* steps &+ t) &* w
                                    unit.step(rule, input: current.baseAddress! + base, out: out.baseAddress! + base, width: w)
                                }
                            }
                        }
                    }
                }
                initialized = current.count
            }
        }
    }

    /// One sample's membranes `v` and the units' constants, stepped one time step.
    private struct Unit {
        let decay: UnsafePointer<Float>, gain: UnsafePointer<Float>, leak: UnsafePointer<Float>, theta: UnsafePointer<Float>
        let reset: UnsafePointer<Float>
        let v: UnsafeMutablePointer<Float>

        func step(_ rule: SpikingOptions.Reset, input: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>, width w: Int) {
            let zero = SIMD4<Float>(repeating: 0), one = SIMD4<Float>(repeating: 1)
            var j = 0
            switch rule {
            case .subtractDelayed:
                // snnTorch's order: (β·v + I) − r·θ, the reset r from the previous step's membrane.
                while j &+ 4 <= w {
                    let old = load(v, j), theta = load(self.theta, j), x = load(input, j), g = load(gain, j), l = load(leak, j)
                    let fired = zero.replacing(with: one, where: old .> theta)
                    var u = load(decay, j) * old + x.replacing(with: g * x, where: g .!= 1)
                    u = u.replacing(with: u + l, where: l .!= 0)
                    let new = u - fired * theta
                    store(new, v, j)
                    store(zero.replacing(with: one, where: new .> theta), out, j)
                    j &+= 4
                }
                while j < w {
                    let fired: Float = v[j] > theta[j] ? 1 : 0
                    var u = decay[j] * v[j] + (gain[j] == 1 ? input[j] : gain[j] * input[j])
                    if leak[j] != 0 { u += leak[j] }
                    v[j] = u - fired * theta[j]
                    out[j] = v[j] > theta[j] ? 1 : 0
                    j &+= 1
                }
            case .nir:
                while j &+ 4 <= w {
                    let u = load(decay, j) * load(v, j) + load(leak, j) + load(gain, j) * load(input, j)
                    let spiking = u .> load(theta, j)
                    store(u.replacing(with: load(reset, j), where: spiking), v, j)
                    store(zero.replacing(with: one, where: spiking), out, j)
                    j &+= 4
                }
                while j < w {
                    let u = decay[j] * v[j] + leak[j] + gain[j] * input[j]
                    if u > theta[j] {
                        v[j] = reset[j]
                        out[j] = 1
                    } else {
                        v[j] = u
                        out[j] = 0
                    }
                    j &+= 1
                }
            }
        }

        private func load(_ p: UnsafePointer<Float>, _ j: Int) -> SIMD4<Float> { UnsafeRawPointer(p + j).loadUnaligned(as: SIMD4<Float>.self) }
        private func load(_ p: UnsafeMutablePointer<Float>, _ j: Int) -> SIMD4<Float> { load(UnsafePointer(p), j) }
        private func store(_ value: SIMD4<Float>, _ p: UnsafeMutablePointer<Float>, _ j: Int) {
            UnsafeMutableRawPointer(p + j).storeBytes(of: value, as: SIMD4<Float>.self)
        }
    }
}
