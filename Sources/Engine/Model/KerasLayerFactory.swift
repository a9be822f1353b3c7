import Checkpoint
import Foundation

/// Turns one layer of a Keras model config into the engine's layer or merge, with its weights,
/// for the shapes of the tensors it takes (without the batch axis).
enum KerasLayerFactory {
    /// Layers that are the identity at inference.
    static let identities: Set<String> = ["Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "GaussianNoise",
                                          "GaussianDropout", "AlphaDropout", "ActivityRegularization"]

    static func operation(_ s: KerasSettings, inputs: [[Int]], reader: WeightReader) throws -> Node.Operation {
        let name = s.name
        switch s.className {
        case "Add": return .merge(ElementwiseMerge(name: name, kind: .add))
        case "Subtract": return .merge(ElementwiseMerge(name: name, kind: .subtract))
        case "Multiply": return .merge(ElementwiseMerge(name: name, kind: .multiply))
        case "Average": return .merge(ElementwiseMerge(name: name, kind: .average))
        case "Concatenate": return .merge(Concatenate(name: name, axis: try s.axis(-1)))
        default: break
        }
        guard inputs.count == 1, let input = inputs.first else {
            throw s.unsupported("\(inputs.count) inputs to \(English.withArticle(s.className)) (it takes one)")
        }
        return .layer(try layer(s, input: input, reader: reader))
    }

    private static func layer(_ s: KerasSettings, input: [Int], reader: WeightReader) throws -> any Layer {
        let name = s.name
        switch s.className {
        case "Dense":
            let kernel = try reader.required(.kernel, rank: 2)
            let bias = try reader.optional(.bias, count: kernel.shape[1])
            return Dense(name: name, kernel: kernel.values, bias: bias?.values, inputs: kernel.shape[0], units: kernel.shape[1],
                         activation: try s.activation(), kernelName: kernel.name, biasName: bias?.name)
        case "Conv2D":
            try s.requireChannelsLast()
            try s.requirePlainConvolution()
            let kernel = try reader.required(.kernel, rank: 4)
            let bias = try reader.optional(.bias, count: kernel.shape[3])
            return Conv2D(name: name, kernel: kernel.values, bias: bias?.values,
                          kernelHeight: kernel.shape[0], kernelWidth: kernel.shape[1], channels: kernel.shape[2], filters: kernel.shape[3],
                          strides: try s.pair("strides") ?? (1, 1), samePadding: try s.samePadding(),
                          activation: try s.activation(), kernelName: kernel.name, biasName: bias?.name)
        case "MaxPooling2D", "AveragePooling2D":
            try s.requireChannelsLast()
            let size = try s.pair("pool_size") ?? (2, 2)
            return Pooling2D(name: name, kind: s.className == "MaxPooling2D" ? .max : .average, size: size,
                             strides: try s.pair("strides") ?? size, samePadding: try s.samePadding())
        case "Flatten":
            return Passthrough(name: name, kind: .flatten)
        case _ where identities.contains(s.className):
            return Passthrough(name: name, kind: .identity)
        case "Activation":
            return ActivationLayer(name: name, function: try s.activation())
        case "LayerNormalization":
            let axis = try s.axis(-1)
            guard axis == -1 || axis == input.count, let width = input.last else {
                throw s.unsupported("normalization over axis \(axis) (only the last axis is supported)")
            }
            if s.flag("rms_scaling", false) { throw s.unsupported("rms_scaling") }
            // Keras 3 files give a layer's weights by position: with one of the two, it is the only one.
            let (scale, center) = (s.flag("scale", true), s.flag("center", true))
            let gamma = scale ? try center ? reader.required(.gamma, count: width) : reader.only(what: "gamma") : nil
            let beta = center ? try scale ? reader.required(.beta, count: width) : reader.only(what: "beta") : nil
            for weight in [gamma, beta].compactMap({ $0 }) where weight.values.count != width {
                throw EngineError.weightShape(path: s.path, layer: name, tensor: weight.name, expected: "\(width) values", actual: weight.shape)
            }
            return LayerNormalization(name: name, gamma: gamma?.values, beta: beta?.values, width: width, epsilon: Float(try s.number("epsilon", 1e-3)),
                                      gammaName: gamma?.name, betaName: beta?.name)
        case "Normalization":
            let axis = try s.axis(-1)
            guard axis == -1 || axis == input.count else { throw s.unsupported("normalization over axis \(axis) (only the last axis is supported)") }
            if let given = s["mean"], !(given is NSNull) {
                return Normalization(name: name, mean: try s.numbers("mean", 0), variance: try s.numbers("variance", 1), invert: s.flag("invert", false),
                                     meanName: nil, varianceName: nil)
            }
            guard let mean = try reader.named("mean", or: .movingMean), let variance = try reader.named("variance", or: .movingVariance) else {
                throw EngineError.missingWeights(path: s.path, layer: name, role: "mean and variance")
            }
            return Normalization(name: name, mean: mean.values, variance: variance.values, invert: s.flag("invert", false),
                                 meanName: mean.name, varianceName: variance.name)
        case "BatchNormalization":
            // Only the last axis (channels last): -1, or its index counting the batch axis.
            let axis = try s.axis(-1)
            guard axis == -1 || axis == input.count else {
                throw s.unsupported("normalization over axis \(axis) (only the last axis is supported)")
            }
            let mean = try reader.required(.movingMean, rank: 1)
            let gamma = try reader.optional(.gamma, count: mean.values.count), beta = try reader.optional(.beta, count: mean.values.count)
            let variance = try reader.required(.movingVariance, count: mean.values.count)
            return BatchNormalization(name: name, gamma: gamma?.values, beta: beta?.values, mean: mean.values, variance: variance.values,
                                      epsilon: Float(try s.number("epsilon", 1e-3)), gammaName: gamma?.name, betaName: beta?.name,
                                      meanName: mean.name, varianceName: variance.name)
        default:
            return try activationLayer(s, input: input, reader: reader) ?? reshapingLayer(s, input: input)
                ?? convolution(s, reader: reader)
        }
    }

    /// The activation layers, or nil.
    private static func activationLayer(_ s: KerasSettings, input: [Int], reader: WeightReader) throws -> (any Layer)? {
        switch s.className {
        case "ReLU":
            return ReLULayer(name: s.name, maxValue: try s.optionalNumber("max_value").map(Float.init),
                             negativeSlope: Float(try s.number("negative_slope", 0)), threshold: Float(try s.number("threshold", 0)))
        case "LeakyReLU":
            // Keras 3 names the slope negative_slope, Keras 2 alpha.
            let slope = s["negative_slope"] != nil ? try s.number("negative_slope", 0.3) : try s.number("alpha", 0.3)
            return ReLULayer(name: s.name, maxValue: nil, negativeSlope: Float(slope), threshold: 0)
        case "PReLU":
            let alpha = try reader.only(what: "alpha")
            return PReLU(name: s.name, alpha: alpha.values, alphaShape: alpha.shape, alphaName: alpha.name)
        case "Softmax":
            let axis = try s.axis(-1)
            guard axis == -1 || axis == input.count else { throw s.unsupported("softmax over axis \(axis) (only the last axis is supported)") }
            return ActivationLayer(name: s.name, function: .softmax)
        default:
            return nil
        }
    }

    /// Layers that move, pad, scale or pool values without weights, or nil.
    private static func reshapingLayer(_ s: KerasSettings, input: [Int]) throws -> (any Layer)? {
        switch s.className {
        case "GlobalAveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalMaxPooling1D":
            try s.requireChannelsLast()
            return GlobalPooling(name: s.name, kind: s.className.hasPrefix("GlobalMax") ? .max : .average,
                                 rank: s.className.hasSuffix("2D") ? 2 : 1, keepDims: s.flag("keepdims", false))
        case "ZeroPadding2D":
            try s.requireChannelsLast()
            let value = s["padding"] ?? 1
            let sides: [Int]? = if let single = value as? Int { [single, single, single, single] }
                else if let pair = value as? [Int], pair.count == 2 { [pair[0], pair[0], pair[1], pair[1]] }
                else if let pairs = value as? [[Int]], pairs.count == 2, pairs.allSatisfy({ $0.count == 2 }) { pairs.flatMap { $0 } }
                else { nil }
            guard let sides, sides.allSatisfy({ (0...(Int.max / 4)).contains($0) }) else { throw s.unsupported("padding \(value)") }
            return ZeroPadding2D(name: s.name, top: sides[0], bottom: sides[1], left: sides[2], right: sides[3])
        case "Rescaling":
            return Rescaling(name: s.name, scale: try s.numbers("scale", 1), offset: try s.numbers("offset", 0))
        case "Reshape":
            guard let target = s["target_shape"] as? [Int], !target.isEmpty else { throw s.unsupported("target_shape \(s["target_shape"] ?? "missing")") }
            return Reshape(name: s.name, target: target)
        default:
            return nil
        }
    }

    /// The convolutions beyond Conv2D and the embedding; anything else is refused, naming its class.
    private static func convolution(_ s: KerasSettings, reader: WeightReader) throws -> any Layer {
        switch s.className {
        case "DepthwiseConv2D":
            return try depthwise(s, reader: reader, withBias: true, activation: try s.activation())
        case "SeparableConv2D":
            let depthwise = try depthwise(s, reader: reader, withBias: false, activation: .linear)
            let pointwise = try reader.required(.kernel, rank: 4)
            guard pointwise.shape[0] == 1, pointwise.shape[1] == 1, pointwise.shape[2] == depthwise.outputs else {
                throw EngineError.weightShape(path: s.path, layer: s.name, tensor: pointwise.name, expected: "(1, 1, \(depthwise.outputs), filters)",
                                              actual: pointwise.shape)
            }
            let bias = try reader.optional(.bias, count: pointwise.shape[3])
            return SeparableConv2D(depthwise: depthwise, pointwise: Dense(
                name: s.name, kernel: pointwise.values, bias: bias?.values, inputs: depthwise.outputs, units: pointwise.shape[3],
                activation: try s.activation(), kernelName: pointwise.name, biasName: bias?.name, kernelShape: pointwise.shape))
        case "Conv1D":
            try s.requireChannelsLast()
            try s.requirePlainConvolution()
            let kernel = try reader.required(.kernel, rank: 3)
            let bias = try reader.optional(.bias, count: kernel.shape[2])
            let padding = (s["padding"] as? String ?? "valid").lowercased()
            guard ["same", "valid", "causal"].contains(padding) else { throw s.unsupported("padding '\(padding)'") }
            let stride = try s.sizes("strides", count: 1)?[0] ?? 1
            return Conv1D(conv: Conv2D(name: s.name, kernel: kernel.values, bias: bias?.values, kernelHeight: 1, kernelWidth: kernel.shape[0],
                                       channels: kernel.shape[1], filters: kernel.shape[2], strides: (1, stride), samePadding: padding == "same",
                                       activation: try s.activation(), kernelName: kernel.name, biasName: bias?.name),
                          causal: padding == "causal")
        case "SimpleRNN", "LSTM", "GRU", "CuDNNLSTM":
            return try recurrent(s, reader: reader, part: "")
        case "Bidirectional":
            guard let inner = s["layer"] as? [String: Any] else { throw s.unsupported("a Bidirectional without its layer") }
            let mode = s["merge_mode"].map { $0 is NSNull ? "none" : "\($0)" } ?? "concat"
            guard let merge = Bidirectional.Mode(rawValue: mode) else { throw s.unsupported("merge_mode \(mode)") }
            // Named as the Bidirectional in messages. Without a backward layer of its own, the backward one is the forward one reversed.
            let forward = KerasSettings(entry: inner, path: s.path, keras2: s.keras2, overriding: ["name": s.name])
            let backward = (s["backward_layer"] as? [String: Any]).map { KerasSettings(entry: $0, path: s.path, keras2: s.keras2, overriding: ["name": s.name]) }
                ?? KerasSettings(entry: inner, path: s.path, keras2: s.keras2, overriding: ["name": s.name, "go_backwards": !forward.flag("go_backwards", false)])
            return Bidirectional(name: s.name, forwardLayer: try recurrent(forward, reader: reader, part: "forward_"),
                                 backwardLayer: try recurrent(backward, reader: reader, part: "backward_"), mode: merge)
        case "Embedding":
            if s.flag("mask_zero", false) { throw s.unsupported("mask_zero (masks are not run)") }
            let table = try reader.required(.embedding, rank: 2)
            return Embedding(name: s.name, table: table.values, vocabulary: table.shape[0], features: table.shape[1], tableName: table.name)
        default:
            throw EngineError.unsupportedLayer(path: s.path, layer: s.name, className: s.className)
        }
    }

    /// A SimpleRNN, LSTM, GRU or Keras 2's CuDNNLSTM, run as an LSTM on its weights' LSTM form
    /// (`CuDNNWeights`) (inside a Bidirectional, its weights are those whose names hold `part`).
    private static func recurrent(_ s: KerasSettings, reader: WeightReader, part: String) throws -> Recurrent {
        let cell: Recurrent.Cell
        switch s.className {
        case "SimpleRNN": cell = .simple
        case "LSTM", "CuDNNLSTM": cell = .lstm
        case "GRU": cell = .gru
        default: throw EngineError.unsupportedLayer(path: s.path, layer: s.name, className: s.className)
        }
        for (option, refused) in [("return_state", true), ("stateful", true), ("time_major", true)] where s.flag(option, !refused) == refused {
            throw s.unsupported(option)
        }
        if cell == .gru, !s.flag("reset_after", false) { throw s.unsupported("a GRU without reset_after (Keras 2's older form)") }
        let units = try s.positive("units")
        let gates = cell == .simple ? 1 : cell == .lstm ? 4 : 3
        let (kernel, recurrent, bias) = try reader.cell(part)
        // The config's units against the kernel's width by division: a hostile `units` cannot overflow.
        guard kernel.shape[1] % gates == 0, kernel.shape[1] / gates == units, recurrent.shape == [units, kernel.shape[1]] else {
            throw EngineError.weightShape(path: s.path, layer: s.name, tensor: "\(kernel.name), \(recurrent.name)",
                                          expected: "(features, \(gates) × \(units)) and (\(units), \(gates) × \(units))",
                                          actual: kernel.shape + recurrent.shape)
        }
        let fromCuDNN = s.className == "CuDNNLSTM"
        let biasCount = (cell == .gru || fromCuDNN ? 2 : 1) * gates * units
        if let bias, bias.values.count != biasCount {
            throw EngineError.weightShape(path: s.path, layer: s.name, tensor: bias.name, expected: "\(biasCount) values", actual: bias.shape)
        }
        if fromCuDNN {  // always tanh and sigmoid, always a bias
            guard let bias else { throw EngineError.missingWeights(path: s.path, layer: s.name, role: "bias (8 × units values)") }
            let file = CuDNNWeights(kernel: kernel.values, recurrentKernel: recurrent.values, bias: bias.values, features: kernel.shape[0], units: units)
            let lstm = file.lstm
            return Recurrent(name: s.name, cell: .lstm, kernel: lstm.kernel, recurrentKernel: lstm.recurrentKernel, bias: lstm.bias,
                             features: kernel.shape[0], units: units, activation: .tanh, recurrentActivation: .sigmoid,
                             returnSequences: s.flag("return_sequences", false), goBackwards: s.flag("go_backwards", false),
                             kernelName: kernel.name, recurrentName: recurrent.name, biasName: bias.name, biasShape: bias.shape, cudnn: file)
        }
        let activation = try s.activation("activation", .tanh), recurrentActivation = try s.activation("recurrent_activation", .sigmoid)
        guard activation != .softmax, recurrentActivation != .softmax else { throw s.unsupported("a softmax inside a recurrent cell") }
        return Recurrent(name: s.name, cell: cell, kernel: kernel.values, recurrentKernel: recurrent.values,
                         bias: s.flag("use_bias", true) ? bias?.values : nil, features: kernel.shape[0], units: units, activation: activation,
                         recurrentActivation: recurrentActivation, returnSequences: s.flag("return_sequences", false),
                         goBackwards: s.flag("go_backwards", false), kernelName: kernel.name, recurrentName: recurrent.name,
                         biasName: s.flag("use_bias", true) ? bias?.name : nil, biasShape: bias?.shape ?? [])
    }

    /// A DepthwiseConv2D, or a SeparableConv2D's depthwise part (`withBias` false: its bias is the pointwise one's).
    private static func depthwise(_ s: KerasSettings, reader: WeightReader, withBias: Bool, activation: ActivationFunction) throws -> DepthwiseConv2D {
        try s.requireChannelsLast()
        try s.requirePlainConvolution()
        let kernel = try reader.required(.depthwiseKernel, or: .kernel, rank: 4)
        let bias = withBias ? try reader.optional(.bias, count: kernel.shape[2] * kernel.shape[3]) : nil
        return DepthwiseConv2D(name: s.name, kernel: kernel.values, bias: bias?.values, kernelHeight: kernel.shape[0], kernelWidth: kernel.shape[1],
                               channels: kernel.shape[2], multiplier: kernel.shape[3], strides: try s.pair("strides") ?? (1, 1),
                               samePadding: try s.samePadding(), activation: activation, kernelName: kernel.name, biasName: bias?.name)
    }
}
