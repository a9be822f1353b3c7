/// The synapses and reshapers of a spiking graph, applied to every row (one row per step and
/// sample) at once: Affine/Linear, Conv2d (PyTorch's cross-correlation, zero padding), and sum or
/// average pooling.
enum SpikingSynapses {
    /// y = W·x (+ b) for every row. With `columns` (Wᵀ, one row of `outputs` weights per input) the
    /// input is mostly zeros: each row sums the weights of its inputs that are not 0
    /// (`sparseAffine`); otherwise one matrix product.
    static func affine(_ x: [Float], rows: Int, inputs: Int, outputs: Int, weight: [Float], columns: [Float]?, bias: [Float]?) -> [Float] {
        guard let columns, inputs > 0, outputs > 0 else {
            var out = GEMM.product(x, weight, transposeB: true, m: rows, n: outputs, k: inputs)
            if let bias { out.addRowwise(bias) }
            return out
        }
        precondition(x.count == rows * inputs, "\(x.count) inputs for \(rows) rows of \(inputs)")
        return x.withUnsafeBufferPointer { x in
            sparseAffine(rows: rows, inputs: inputs, outputs: outputs, columns: columns, bias: bias) { fired, r in
                fired.gather(x.baseAddress! + r &* inputs)
            }
        }
    }

    /// `affine` on spikes held as bytes, each worth Float(byte) × `scale` (finite): each row sums
    /// the weights of its bytes that are not 0 (`sparseAffine`), the sums of the floats' path.
    static func affine(spikes: [UInt8], scale: Float, rows: Int, inputs: Int, outputs: Int, columns: [Float], bias: [Float]?) -> [Float] {
        precondition(spikes.count == rows * inputs && scale.isFinite, "\(spikes.count) inputs for \(rows) rows of \(inputs), scale \(scale)")
        return spikes.withUnsafeBufferPointer { x in
            sparseAffine(rows: rows, inputs: inputs, outputs: outputs, columns: columns, bias: bias) { fired, r in
                fired.gather(x.baseAddress! + r &* inputs, scale: scale)
            }
        }
    }

    /// Wᵀ of an (outputs, inputs) weight: the weights from one input to every output made contiguous.
    static func transposed(_ weight: [Float], outputs: Int, inputs: Int) -> [Float] {
        var columns = [Float](repeating: 0, count: weight.count)
        for o in 0..<outputs { for i in 0..<inputs { columns[i * outputs + o] = weight[o * inputs + i] } }
        return columns
    }

    /// Cross-correlation of each (C, H, W) row with weights (Cout, Cin/groups, kh, kw). Spikes are
    /// mostly zeros, so each input that is not 0 adds its weights to the outputs it reaches
    /// (scattered), and the bias comes last.
    static func convolve(_ x: [Float], rows: Int, input: [Int], output: [Int], _ c: Convolution, weight: [Float], bias: [Float]?) -> [Float] {
        let (channels, height, width) = (input[0], input[1], input[2]), (filters, outHeight, outWidth) = (output[0], output[1], output[2])
        let (kh, kw) = c.kernel, (sy, sx) = c.stride, (py, px) = c.padding, (dy, dx) = c.dilation
        let perGroupIn = channels / c.groups, perGroupOut = filters / c.groups
        let outPlane = outHeight * outWidth
        var out = [Float](repeating: 0, count: rows * filters * outPlane)
        x.withUnsafeBufferPointer { x in
            weight.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { y in
                    for r in 0..<rows {
                        let source = x.baseAddress! + r &* channels &* height &* width
                        let target = y.baseAddress! + r &* filters &* outPlane
                        for ci in 0..<channels {
                            let group = ci / perGroupIn, inGroup = ci - group &* perGroupIn
                            for iy in 0..<height {
                                for ix in 0..<width {
                                    let value = source[(ci &* height &+ iy) &* width &+ ix]
                                    guard value != 0 else { continue }
                                    for ky in 0..<kh {
                                        // The output row oy reads iy through ky when oy·sy − py + ky·dy = iy.
                                        let rowOffset = iy &+ py &- ky &* dy
                                        guard rowOffset >= 0, rowOffset % sy == 0, rowOffset / sy < outHeight else { continue }
                                        let oy = rowOffset / sy
                                        for kx in 0..<kw {
                                            let columnOffset = ix &+ px &- kx &* dx
                                            guard columnOffset >= 0, columnOffset % sx == 0, columnOffset / sx < outWidth else { continue }
                                            let position = oy &* outWidth &+ columnOffset / sx
                                            for o in (group &* perGroupOut)..<((group &+ 1) &* perGroupOut) {
                                                target[o &* outPlane &+ position] += value * w[((o &* perGroupIn &+ inGroup) &* kh &+ ky) &* kw &+ kx]
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        if let bias { for o in 0..<filters { for p in 0..<outPlane { target[o &* outPlane &+ p] += bias[o] } } }
                    }
                }
            }
        }
        return out
    }

    /// The sum (or mean over the whole window, padding included, as PyTorch's default) of each
    /// window of each channel.
    static func pool(_ x: [Float], rows: Int, input: [Int], output: [Int], average: Bool, kernel: (Int, Int), stride: (Int, Int),
                     padding: (Int, Int)) -> [Float] {
        let (channels, height, width) = (input[0], input[1], input[2]), (outHeight, outWidth) = (output[1], output[2])
        let divisor: Float = average ? Float(kernel.0 * kernel.1) : 1
        var out = [Float](repeating: 0, count: rows * channels * outHeight * outWidth)
        for r in 0..<rows {
            for c in 0..<channels {
                let source = (r * channels + c) * height * width, target = (r * channels + c) * outHeight * outWidth
                for oy in 0..<outHeight {
                    for ox in 0..<outWidth {
                        var sum: Float = 0
                        for ky in 0..<kernel.0 {
                            let iy = oy * stride.0 - padding.0 + ky
                            guard iy >= 0, iy < height else { continue }
                            for kx in 0..<kernel.1 {
                                let ix = ox * stride.1 - padding.1 + kx
                                guard ix >= 0, ix < width else { continue }
                                sum += x[source + iy * width + ix]
                            }
                        }
                        out[target + oy * outWidth + ox] = sum / divisor
                    }
                }
            }
        }
        return out
    }
}
