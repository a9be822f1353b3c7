/// One step of each recurrent cell, forward and backward, as Keras 3 defines them (gates in Keras'
/// order; a = `activation`, σ = `recurrentActivation`, z = the input projection plus h_{t−1}·R):
/// - SimpleRNN: h = a(z).
/// - LSTM (gates i, f, c, o): c_t = σ(z_f)·c_{t−1} + σ(z_i)·a(z_c); h = σ(z_o)·a(c_t).
/// - GRU with `reset_after` (gates z, r, h; R's product carries the recurrent bias):
///   u = σ(x_z + r_z), r = σ(x_r + r_r), ĥ = a(x_h + r·r_h); h = u·h_{t−1} + (1 − u)·ĥ.
/// The forward step applies each activation to a whole run of values at once (`ActivationFunction.apply`,
/// vectorised for sigmoid and tanh) and the trace keeps each gate's pre-activation and its value after
/// the activation (an LSTM's a(c_t) too), so the backward step evaluates no activation again.
extension Recurrent {
    /// Step t forward: `projection` is x·W (+ b) for every (sample, step) row, `recurrent` is
    /// h_{t−1}·R (+ a GRU's recurrent bias) for every sample of step t. The step's place in the
    /// trace is `slot` (t when the trace keeps every step, 0 when it keeps one).
    func step(_ t: Int, slot: Int, projection p: UnsafePointer<Float>, recurrent r: UnsafePointer<Float>, samples n: Int, steps: Int,
              trace: Trace) {
        let (units, width) = (units, gates * units)
        let (a, σ) = (activation, recurrentActivation)
        // The step's rows (slot, s) of the trace: pre-activations, activated gates, h_{t−1} and h_t.
        let z = trace.gates.baseAddress! + slot * n * width, y = trace.activated.baseAddress! + slot * n * width
        let (previous, next) = (trace.h.baseAddress! + slot * n * units, trace.h.baseAddress! + (slot + 1) * n * units)
        /// z = projection + recurrent for columns `columns` of every sample's gates.
        func preActivations(_ columns: Range<Int>) {
            for s in 0..<n {
                let (x, row) = ((s * steps + t) * width, s * width)
                for j in columns { z[row + j] = p[x + j] + r[row + j] }
            }
        }
        switch cell {
        case .simple:
            preActivations(0..<width)
            y.update(from: z, count: n * width)
            a.apply(y, count: n * width)
            next.update(from: y, count: n * units)
        case .lstm:
            preActivations(0..<width)
            y.update(from: z, count: n * width)
            for s in 0..<n {
                let row = y + s * width
                σ.apply(row, count: 2 * units)
                a.apply(row + 2 * units, count: units)
                σ.apply(row + 3 * units, count: units)
            }
            let (c, cPrevious) = (trace.c.baseAddress! + (slot + 1) * n * units, trace.c.baseAddress! + slot * n * units)
            let squashed = trace.squashed.baseAddress! + slot * n * units
            for s in 0..<n {
                let (g, k) = (y + s * width, s * units)
                for j in 0..<units { c[k + j] = g[units + j] * cPrevious[k + j] + g[j] * g[2 * units + j] }
            }
            squashed.update(from: c, count: n * units)
            a.apply(squashed, count: n * units)
            for s in 0..<n {
                let (g, k) = (y + s * width, s * units)
                for j in 0..<units { next[k + j] = g[3 * units + j] * squashed[k + j] }
            }
        case .gru:
            preActivations(0..<(2 * units))
            let kept = trace.recurrent.baseAddress! + slot * n * width
            for s in 0..<n {
                let (row, x) = (s * width, (s * steps + t) * width)
                (y + row).update(from: z + row, count: 2 * units)
                σ.apply(y + row, count: 2 * units)
                for j in 0..<units {
                    let (h, rh) = (row + 2 * units + j, r[row + 2 * units + j])
                    kept[h] = rh
                    z[h] = p[x + 2 * units + j] + y[row + units + j] * rh
                    y[h] = z[h]
                }
                a.apply(y + row + 2 * units, count: units)
                for j in 0..<units {
                    let u = y[row + j]
                    next[s * units + j] = u * previous[s * units + j] + (1 - u) * y[row + 2 * units + j]
                }
            }
        }
    }

    /// Step t backward: from dL/dh_t (`dh`, and for an LSTM dL/dc_t from the later steps in `dc`),
    /// the deltas of the gates' pre-activations on the input side (`deltas`) and, for a GRU, on the
    /// recurrent product's side (`recurrentDeltas`, where the candidate's is scaled by the reset
    /// gate); `dh` is left with what h_{t−1} gets other than through R (a GRU's u·dh), `dc` with
    /// dL/dc_{t−1}. All n × units (dh, dc) or n × gates · units (deltas).
    func backStep(_ t: Int, samples n: Int, trace: Trace, dh: UnsafeMutablePointer<Float>, dc: UnsafeMutablePointer<Float>,
                  deltas: UnsafeMutablePointer<Float>, recurrentDeltas: UnsafeMutablePointer<Float>) {
        let (units, width) = (units, gates * units)
        let (a, σ) = (activation, recurrentActivation)
        let z = trace.gates.baseAddress! + t * n * width, y = trace.activated.baseAddress! + t * n * width
        let previous = trace.h.baseAddress! + t * n * units
        for s in 0..<n {
            let (g, d, k) = (s * width, s * width, s * units)
            for j in 0..<units {
                let above = dh[k + j]
                switch cell {
                case .simple:
                    deltas[d + j] = above * a.derivative(z[g + j], y[g + j])
                    dh[k + j] = 0
                case .lstm:
                    let (i, di) = (y[g + j], σ.derivative(z[g + j], y[g + j]))
                    let (f, df) = (y[g + units + j], σ.derivative(z[g + units + j], y[g + units + j]))
                    let (candidate, dcandidate) = (y[g + 2 * units + j], a.derivative(z[g + 2 * units + j], y[g + 2 * units + j]))
                    let (o, dout) = (y[g + 3 * units + j], σ.derivative(z[g + 3 * units + j], y[g + 3 * units + j]))
                    let (c, cPrevious) = (trace.c[((t + 1) * n + s) * units + j], trace.c[(t * n + s) * units + j])
                    let squashed = trace.squashed[(t * n + s) * units + j]
                    let total = dc[k + j] + above * o * a.derivative(c, squashed)
                    deltas[d + j] = total * candidate * di
                    deltas[d + units + j] = total * cPrevious * df
                    deltas[d + 2 * units + j] = total * i * dcandidate
                    deltas[d + 3 * units + j] = above * squashed * dout
                    dc[k + j] = total * f
                    dh[k + j] = 0
                case .gru:
                    let (u, du) = (y[g + j], σ.derivative(z[g + j], y[g + j]))
                    let (reset, dreset) = (y[g + units + j], σ.derivative(z[g + units + j], y[g + units + j]))
                    let (candidate, dcandidate) = (y[g + 2 * units + j], a.derivative(z[g + 2 * units + j], y[g + 2 * units + j]))
                    let update = above * (previous[k + j] - candidate) * du
                    let pre = above * (1 - u) * dcandidate
                    let resetDelta = pre * trace.recurrent[(t * n + s) * width + 2 * units + j] * dreset
                    (deltas[d + j], deltas[d + units + j], deltas[d + 2 * units + j]) = (update, resetDelta, pre)
                    (recurrentDeltas[d + j], recurrentDeltas[d + units + j], recurrentDeltas[d + 2 * units + j]) = (update, resetDelta, pre * reset)
                    dh[k + j] = above * u
                }
            }
        }
    }
}
