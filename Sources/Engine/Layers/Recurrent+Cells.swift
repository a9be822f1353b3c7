/// One step of each recurrent cell, forward and backward, as Keras 3 defines them (gates in Keras'
/// order; a = `activation`, σ = `recurrentActivation`, z = the input projection plus h_{t−1}·R):
/// - SimpleRNN: h = a(z).
/// - LSTM (gates i, f, c, o): c_t = σ(z_f)·c_{t−1} + σ(z_i)·a(z_c); h = σ(z_o)·a(c_t).
/// - GRU with `reset_after` (gates z, r, h; R's product carries the recurrent bias):
///   u = σ(x_z + r_z), r = σ(x_r + r_r), ĥ = a(x_h + r·r_h); h = u·h_{t−1} + (1 − u)·ĥ.
/// The forward step applies each activation to a whole run of values at once (`ActivationFunction.apply`,
/// vectorised for sigmoid and tanh), reading an LSTM's or SimpleRNN's pre-activations where the
/// recurrent product added itself into the projection. The trace keeps each gate's value after
/// the activation (an LSTM's a(c_t) too) and, where a derivative needs it, the pre-activation
/// (`keepsPreActivations`), so the backward step evaluates no activation again.
extension Recurrent {
    /// Whether the trace keeps the gates' pre-activations: a GRU computes its candidate's in it,
    /// and the other cells need them only for an activation whose derivative takes its input (the
    /// derivatives of sigmoid and tanh take their output).
    var keepsPreActivations: Bool {
        cell == .gru || activation.derivativeNeedsInput || recurrentActivation.derivativeNeedsInput
    }

    /// Step t forward: `projection` holds x·W (+ b) for every (sample, step) row, and for a
    /// SimpleRNN or LSTM step t's rows already have h_{t−1}·R added; `recurrent` is a GRU's
    /// h_{t−1}·R + recurrent bias for every sample of step t. The step's place in the trace is
    /// `slot` (t when the trace keeps every step, 0 when it keeps one).
    func step(_ t: Int, slot: Int, projection p: UnsafePointer<Float>, recurrent r: UnsafePointer<Float>?, samples n: Int, steps: Int,
              trace: Trace) {
        let (units, width) = (units, gates * units)
        let (a, σ) = (activation, recurrentActivation)
        // The step's rows (slot, s) of the trace: pre-activations, activated gates, h_{t−1} and h_t.
        let z = trace.gates.isEmpty ? nil : trace.gates.baseAddress! + slot * n * width, y = trace.activated.baseAddress! + slot * n * width
        let (previous, next) = (trace.h.baseAddress! + slot * n * units, trace.h.baseAddress! + (slot + 1) * n * units)
        switch cell {
        case .simple:
            for s in 0..<n {
                let pre = p + (s * steps + t) * width
                if let z { (z + s * width).update(from: pre, count: width) }
                a.apply(pre, into: y + s * width, count: width)
            }
            next.update(from: y, count: n * units)
        case .lstm:
            let (c, cPrevious) = (trace.c.baseAddress! + (slot + 1) * n * units, trace.c.baseAddress! + slot * n * units)
            let squashed = trace.squashed.baseAddress! + slot * n * units
            for s in 0..<n {
                let (pre, g, k) = (p + (s * steps + t) * width, y + s * width, s * units)
                if let z { (z + s * width).update(from: pre, count: width) }
                σ.apply(pre, into: g, count: 2 * units)
                a.apply(pre + 2 * units, into: g + 2 * units, count: units)
                σ.apply(pre + 3 * units, into: g + 3 * units, count: units)
                for j in 0..<units { c[k + j] = g[units + j] * cPrevious[k + j] + g[j] * g[2 * units + j] }
                a.apply(c + k, into: squashed + k, count: units)
                for j in 0..<units { next[k + j] = g[3 * units + j] * squashed[k + j] }
            }
        case .gru:
            let (z, r) = (z!, r!)
            for s in 0..<n {
                let (row, x) = (s * width, (s * steps + t) * width)
                for j in 0..<(2 * units) { z[row + j] = p[x + j] + r[row + j] }
                σ.apply(z + row, into: y + row, count: 2 * units)
                let kept = trace.recurrent.baseAddress! + slot * n * width
                for j in 0..<units {
                    let (h, rh) = (row + 2 * units + j, r[row + 2 * units + j])
                    kept[h] = rh
                    z[h] = p[x + 2 * units + j] + y[row + units + j] * rh
                }
                a.apply(z + row + 2 * units, into: y + row + 2 * units, count: units)
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
        let y = trace.activated.baseAddress! + t * n * width
        // Without kept pre-activations every derivative here takes only its output: y stands in.
        let z = trace.gates.isEmpty ? y : trace.gates.baseAddress! + t * n * width
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
