import Checkpoint

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
            throw EngineError.unsupportedLayer(path: s.path, layer: name, className: s.className)
        }
    }
}
