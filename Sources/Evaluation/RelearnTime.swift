import Engine

/// Relearn time (Golatkar, Achille and Soatto, CVPR 2020): how many steps of fine-tuning on the
/// forget data bring its accuracy back to the original model's. A class that comes back in a
/// handful of steps was hidden, not forgotten. The recipe is fixed, so figures compare: Keras'
/// Adam (learning rate 1e-3), batches of 32 forget samples shuffled by seed 0, cross-entropy; the
/// forget split's accuracy is measured after every step.
public enum RelearnTime {
    public static let recipe = "Adam (lr 1e-3), batches of 32 forget samples (seed 0), cross-entropy; forget accuracy measured after every step"

    /// Steps until the forget split's accuracy is at least `target` (0 if it already is), or nil if
    /// not within `limit` steps.
    public static func measure(_ network: Network, forget: DataPart, target: Double, limit: Int) throws -> Int? {
        // An accuracy is a ratio of counts: a target read back from JSON may be off in its last bits.
        let target = target - 1e-9
        let forget = try forget.held()  // measured after every step
        let runner = { (network: Network) throws -> Double in try forget.runner(network).accuracy(forget.split) }
        if try runner(network) >= target { return 0 }
        var trainer = try Trainer(network: network, training: network.parameters.map(\.name), optimizer: Adam(learningRate: 1e-3))
        var batches = BatchSampler(part: forget, size: 32, sampleShape: network.inputShape, seed: 0)
        for step in 1...max(limit, 1) {
            let (x, y) = try batches.next()
            try trainer.step(.crossEntropy, batch: x, labels: y)
            if try runner(trainer.network) >= target { return step }
        }
        return nil
    }
}
