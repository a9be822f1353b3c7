import Checkpoint
import Engine
import Report

extension ReportJob {
    /// For a spiking network (and the one before the edit, when it is one too and has the same
    /// spiking layers): each spiking layer's mean firing rate on the forget and retain splits, the
    /// spike counts of `ckptforget stats` averaged over the layer's neurons and divided by the time
    /// steps. Empty for other models.
    static func spikeRates(after network: any ClassifierModel, before previous: (any ClassifierModel)?,
                           on splits: DataSplits) throws -> [ReportModel.LayerSpikeRates] {
        guard let spiking = network as? SpikingModel else { return [] }
        let after = try spikeCounts(spiking, on: splits)
        let before = try (previous as? SpikingModel).flatMap { model in
            model.network.spikingNodes.map(\.name) == spiking.network.spikingNodes.map(\.name) ? try spikeCounts(model, on: splits) : nil
        }
        func rate(_ counts: SpikeCounts?, _ split: DataSplit, _ layer: String) -> Double? {
            guard let counts, let means = counts.mean[split]?[layer], !means.isEmpty, counts.steps > 0 else { return nil }
            return means.reduce(0, +) / Double(means.count) / Double(counts.steps)
        }
        return spiking.network.spikingNodes.map { node in
            ReportModel.LayerSpikeRates(layer: node.name, neurons: node.shape.reduce(1, *),
                                        forgetBefore: rate(before, .forget, node.name), forgetAfter: rate(after, .forget, node.name) ?? 0,
                                        retainBefore: rate(before, .retain, node.name), retainAfter: rate(after, .retain, node.name) ?? 0)
        }
    }

    private static func spikeCounts(_ model: SpikingModel, on splits: DataSplits) throws -> SpikeCounts? {
        try MeasuredStatistics.measure(model, on: splits, outputs: false).spikes
    }
}
