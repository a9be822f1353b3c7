/// For a spiking network: each spiking layer's firing rate on the forget and retain data, before
/// and after the edit, as grouped bars (one group per layer, in run order). Forgetting a class
/// should quiet the forget data's spikes in the layers that carried it while the retain data's
/// stay where they were.
extension ReportRenderer {
    static func spikingSection(_ measurement: ReportModel.Measurement) -> String {
        let layers = measurement.spikeRates
        guard !layers.isEmpty else { return "" }
        let hasBefore = layers.contains { $0.forgetBefore != nil || $0.retainBefore != nil }
        var series: [SVGBarChart.Series] = []
        if hasBefore { series.append(.init(name: "Forget data before", cssClass: "bar-forget-before", color: ReportStyle.forgetBefore, values: layers.map(\.forgetBefore))) }
        series.append(.init(name: "Forget data after", cssClass: "bar-forget-after", color: ReportStyle.forgetAfter, values: layers.map { $0.forgetAfter }))
        if hasBefore { series.append(.init(name: "Retain data before", cssClass: "bar-retain-before", color: ReportStyle.before, values: layers.map(\.retainBefore))) }
        series.append(.init(name: "Retain data after", cssClass: "bar-retain-after", color: ReportStyle.after, values: layers.map { $0.retainAfter }))
        let highest = series.flatMap { $0.values.compactMap { $0 } }.filter(\.isFinite).max() ?? 0
        let chart = SVGBarChart(groups: layers.map(\.layer), series: series, highlighted: [], xLabel: "Spiking layer (in run order)",
                                yLabel: "Spikes per neuron per step", label: "Spike rates per layer on the forget and retain data",
                                axisMaximum: SVG.niceCeiling(min(max(highest, 1e-6), 1)), groupNoun: "layer").render()
        let sizes = layers.map { "\($0.layer) \(ReportNumber.count($0.neurons))" }.joined(separator: ", ")
        return section("Spike rates", id: "spikes",
                       lead: "Each spiking layer's mean firing rate (spikes per neuron per time step) on the forget and on the retain split"
                           + (hasBefore ? ", before and after the edit." : " (no model before the edit was run).") + " Neurons per layer: \(sizes).",
                       legend(series.map { ($0.name, $0.color) }) + chart)
    }
}
