/// Neuron populations stepped through time on their input current (sample-major: `[sample][step][unit]`),
/// in float32, by the reset rule of `SpikingOptions.Reset`. A parameter a node does not store takes
/// NIR's default (R = 1, v_leak = 0, v_reset = 0, w_in = 1).
enum SpikingNeurons {
    static func run(_ node: SpikingNode, current: [Float], samples n: Int, options: SpikingOptions, weights: [String: [Float]]) -> [Float] {
        let w = node.width, steps = options.steps, dt = options.dt
        func parameter(_ name: String, default fallback: Float) -> [Float] { weights[name] ?? [Float](repeating: fallback, count: w) }
        switch node.kind {
        case .lif(let tau, let r, let leak, let threshold, let reset):
            let membrane = Membrane(tau: parameter(tau, default: 1), r: parameter(r, default: 1), leak: parameter(leak, default: 0),
                                    threshold: parameter(threshold, default: 1), reset: parameter(reset, default: 0), options: options)
            return membrane.run(current, steps: steps, samples: n)
        case .cubaLIF(let tauSynapse, let tau, let r, let leak, let threshold, let reset, let weightIn):
            let membrane = Membrane(tau: parameter(tau, default: 1), r: parameter(r, default: 1), leak: parameter(leak, default: 0),
                                    threshold: parameter(threshold, default: 1), reset: parameter(reset, default: 0), options: options)
            // The synaptic current: I ← I + (dt/τ_syn)·(w_in·x − I), then the membrane integrates I.
            let rate = parameter(tauSynapse, default: 1).map { Float(dt / Double($0)) }, gain = parameter(weightIn, default: 1)
            var synapse = [Float](repeating: 0, count: n * w)
            var filtered = current
            for s in 0..<n {
                for t in 0..<steps {
                    let base = (s * steps + t) * w
                    for j in 0..<w {
                        let k = s * w + j
                        synapse[k] += rate[j] * (gain[j] * current[base + j] - synapse[k])
                        filtered[base + j] = synapse[k]
                    }
                }
            }
            return membrane.run(filtered, steps: steps, samples: n)
        case .integrateAndFire(let r, let threshold, let reset):
            // No leak and no time constant: one step per time bin, v ← v + R·I.
            let (r, theta, resetTo) = (parameter(r, default: 1), parameter(threshold, default: 1), parameter(reset, default: 0))
            var out = [Float](repeating: 0, count: current.count), v = [Float](repeating: 0, count: n * w)
            for s in 0..<n {
                for t in 0..<steps {
                    let base = (s * steps + t) * w
                    for j in 0..<w {
                        let k = s * w + j
                        switch options.reset {
                        case .subtractDelayed:
                            let fired: Float = v[k] > theta[j] ? 1 : 0
                            v[k] = v[k] + r[j] * current[base + j] - fired * theta[j]
                            out[base + j] = v[k] > theta[j] ? 1 : 0
                        case .nir:
                            let u = v[k] + r[j] * current[base + j]
                            if u > theta[j] { out[base + j] = 1; v[k] = resetTo[j] } else { v[k] = u }
                        }
                    }
                }
            }
            return out
        case .leakyIntegrator(let tau, let r, let leak):
            // v ← v + (dt/τ)·(v_leak − v + R·I); the output is the membrane itself.
            let (tau, r, leak) = (parameter(tau, default: 1), parameter(r, default: 1), parameter(leak, default: 0))
            let rate = tau.map { Float(dt / Double($0)) }
            var out = [Float](repeating: 0, count: current.count), v = [Float](repeating: 0, count: n * w)
            for s in 0..<n {
                for t in 0..<steps {
                    let base = (s * steps + t) * w
                    for j in 0..<w {
                        let k = s * w + j
                        v[k] += rate[j] * (leak[j] - v[k] + r[j] * current[base + j])
                        out[base + j] = v[k]
                    }
                }
            }
            return out
        default:
            return [Float](repeating: 0, count: current.count)
        }
    }
}
