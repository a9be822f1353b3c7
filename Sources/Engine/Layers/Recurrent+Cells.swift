/// One step of each recurrent cell, forward and backward, as Keras 3 defines them (gates in Keras'
/// order; a = `activation`, σ = `recurrentActivation`, z = the input projection plus h_{t−1}·R):
/// - SimpleRNN: h = a(z).
/// - LSTM (gates i, f, c, o): c_t = σ(z_f)·c_{t−1} + σ(z_i)·a(z_c); h = σ(z_o)·a(c_t).
/// - GRU with `reset_after` (gates z, r, h; R's product carries the recurrent bias):
///   u = σ(x_z + r_z), r = σ(x_r + r_r), ĥ = a(x_h + r·r_h); h = u·h_{t−1} + (1 − u)·ĥ.
/// The trace keeps each gate's pre-activation, from which the backward step recomputes the rest.
extension Recurrent {
    func step(_ t: Int, projection: [Float], recurrent: [Float], samples n: Int, steps: Int, trace: inout Trace) {
        let width = gates * units
        let (a, σ) = (activation, recurrentActivation)
        for s in 0..<n {
            let (x, r, g) = ((s * steps + t) * width, s * width, (t * n + s) * width)
            let (previous, next) = ((t * n + s) * units, ((t + 1) * n + s) * units)
            for j in 0..<units {
                switch cell {
                case .simple:
                    let z = projection[x + j] + recurrent[r + j]
                    trace.gates[g + j] = z
                    trace.h[next + j] = a.value(z)
                case .lstm:
                    var z: (Float, Float, Float, Float) = (0, 0, 0, 0)
                    z.0 = projection[x + j] + recurrent[r + j]
                    z.1 = projection[x + units + j] + recurrent[r + units + j]
                    z.2 = projection[x + 2 * units + j] + recurrent[r + 2 * units + j]
                    z.3 = projection[x + 3 * units + j] + recurrent[r + 3 * units + j]
                    (trace.gates[g + j], trace.gates[g + units + j], trace.gates[g + 2 * units + j], trace.gates[g + 3 * units + j]) = z
                    let c = σ.value(z.1) * trace.c[previous + j] + σ.value(z.0) * a.value(z.2)
                    trace.c[next + j] = c
                    trace.h[next + j] = σ.value(z.3) * a.value(c)
                case .gru:
                    let rh = recurrent[r + 2 * units + j]
                    trace.recurrent[g + 2 * units + j] = rh
                    let zu = projection[x + j] + recurrent[r + j], zr = projection[x + units + j] + recurrent[r + units + j]
                    let zh = projection[x + 2 * units + j] + σ.value(zr) * rh
                    (trace.gates[g + j], trace.gates[g + units + j], trace.gates[g + 2 * units + j]) = (zu, zr, zh)
                    let u = σ.value(zu)
                    trace.h[next + j] = u * trace.h[previous + j] + (1 - u) * a.value(zh)
                }
            }
        }
    }

    /// Step t backward: from dL/dh_t (`dh`, and for an LSTM dL/dc_t from the later steps in `dc`),
    /// the deltas of the gates' pre-activations on the input side (`deltas`) and, for a GRU, on the
    /// recurrent product's side (`recurrentDeltas`, where the candidate's is scaled by the reset
    /// gate); `dh` is left with what h_{t−1} gets other than through R (a GRU's u·dh), `dc` with
    /// dL/dc_{t−1}.
    func backStep(_ t: Int, samples n: Int, trace: Trace, dh: inout [Float], dc: inout [Float],
                  deltas: inout [Float], recurrentDeltas: inout [Float]) {
        let width = gates * units
        let (a, σ) = (activation, recurrentActivation)
        func derivative(_ f: ActivationFunction, _ x: Float) -> (Float, Float) {
            let y = f.value(x)
            return (y, f.derivative(x, y))
        }
        for s in 0..<n {
            let (g, d) = ((t * n + s) * width, s * width)
            let (previous, next) = ((t * n + s) * units, ((t + 1) * n + s) * units)
            for j in 0..<units {
                let above = dh[s * units + j]
                switch cell {
                case .simple:
                    deltas[d + j] = above * derivative(a, trace.gates[g + j]).1
                    dh[s * units + j] = 0
                case .lstm:
                    let (i, di) = derivative(σ, trace.gates[g + j]), (f, df) = derivative(σ, trace.gates[g + units + j])
                    let (candidate, dcandidate) = derivative(a, trace.gates[g + 2 * units + j])
                    let (o, dout) = derivative(σ, trace.gates[g + 3 * units + j])
                    let (squashed, dsquashed) = derivative(a, trace.c[next + j])
                    let total = dc[s * units + j] + above * o * dsquashed
                    deltas[d + j] = total * candidate * di
                    deltas[d + units + j] = total * trace.c[previous + j] * df
                    deltas[d + 2 * units + j] = total * i * dcandidate
                    deltas[d + 3 * units + j] = above * squashed * dout
                    dc[s * units + j] = total * f
                    dh[s * units + j] = 0
                case .gru:
                    let (u, du) = derivative(σ, trace.gates[g + j]), (reset, dreset) = derivative(σ, trace.gates[g + units + j])
                    let (candidate, dcandidate) = derivative(a, trace.gates[g + 2 * units + j])
                    let update = above * (trace.h[previous + j] - candidate) * du
                    let pre = above * (1 - u) * dcandidate
                    let resetDelta = pre * trace.recurrent[g + 2 * units + j] * dreset
                    (deltas[d + j], deltas[d + units + j], deltas[d + 2 * units + j]) = (update, resetDelta, pre)
                    (recurrentDeltas[d + j], recurrentDeltas[d + units + j], recurrentDeltas[d + 2 * units + j]) = (update, resetDelta, pre * reset)
                    dh[s * units + j] = above * u
                }
            }
        }
    }
}
