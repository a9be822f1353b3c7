/// Keras 2's CuDNNLSTM weights as its file holds them, and their mapping to the LSTM the engine runs
/// (tanh and sigmoid, gates i, f, c, o), as Keras 2 converts them when it loads such a file into an
/// LSTM (`_convert_rnn_weights`). cuDNN reads each gate's block of the kernel, features × units in
/// the file, as its C-order values laid out units × features, and each recurrent block transposed;
/// the bias holds 8 · units values, an input half and a recurrent half, which add. Edits and
/// gradients stay in the file's layout: both halves of the bias get the gradient of their sum.
struct CuDNNWeights: Sendable {
    let kernel: [Float], recurrentKernel: [Float], bias: [Float]
    let features: Int, units: Int

    /// The LSTM kernel, recurrent kernel and bias these weights compute with.
    var lstm: (kernel: [Float], recurrentKernel: [Float], bias: [Float]) {
        var (k, r) = (kernel, recurrentKernel)
        for (file, lstm) in Self.kernelPositions(features: features, units: units) { k[lstm] = kernel[file] }
        for (file, lstm) in Self.recurrentPositions(units: units) { r[lstm] = recurrentKernel[file] }
        let width = 4 * units
        return (k, r, (0..<width).map { bias[$0] + bias[width + $0] })
    }

    /// The same weights with the tensors `values` names (in the file's layout) replaced.
    func replacing(_ values: [String: [Float]], kernelName: String, recurrentName: String, biasName: String?) -> CuDNNWeights {
        CuDNNWeights(kernel: replaced(kernel, kernelName, in: values), recurrentKernel: replaced(recurrentKernel, recurrentName, in: values),
                     bias: replaced(bias, biasName, in: values), features: features, units: units)
    }

    /// Values laid out as the LSTM's kernel, recurrent kernel or bias (a gradient, or a Fisher
    /// contribution: squares of such) in the file's layout.
    func fileLayout(kernel lstm: [Float]) -> [Float] {
        var out = lstm
        for (file, position) in Self.kernelPositions(features: features, units: units) { out[file] = lstm[position] }
        return out
    }

    func fileLayout(recurrentKernel lstm: [Float]) -> [Float] {
        var out = lstm
        for (file, position) in Self.recurrentPositions(units: units) { out[file] = lstm[position] }
        return out
    }

    func fileLayout(bias lstm: [Float]) -> [Float] { lstm + lstm }

    /// (file index, LSTM index) of every kernel value: in gate q's block, the LSTM's (a, b) is the
    /// file block's C-order value number b · features + a.
    static func kernelPositions(features: Int, units: Int) -> [(Int, Int)] {
        var positions: [(Int, Int)] = []
        positions.reserveCapacity(features * 4 * units)
        for q in 0..<4 {
            for a in 0..<features {
                for b in 0..<units {
                    let flat = b * features + a
                    positions.append(((flat / units) * 4 * units + q * units + flat % units, a * 4 * units + q * units + b))
                }
            }
        }
        return positions
    }

    /// (file index, LSTM index) of every recurrent value: each gate's block transposed.
    static func recurrentPositions(units: Int) -> [(Int, Int)] {
        var positions: [(Int, Int)] = []
        positions.reserveCapacity(units * 4 * units)
        for q in 0..<4 {
            for a in 0..<units {
                for b in 0..<units { positions.append((b * 4 * units + q * units + a, a * 4 * units + q * units + b)) }
            }
        }
        return positions
    }
}
