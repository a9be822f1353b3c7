/// Histograms of the membership-inference feature for several groups of samples (members,
/// non-members, forget samples), each as a filled step outline (`hist` and the group's class)
/// over shared bins, its height the share of the group's samples in the bin, so groups of
/// different sizes compare; with the attack's threshold as a dashed line (`threshold`). Forget
/// samples that sit with the non-members are the ones the attack judges forgotten.
struct SVGHistogram {
    struct Group {
        let name: String
        let cssClass: String
        let color: String
        let values: [Double]
    }

    let groups: [Group]
    /// The feature's range (shared by the before and after charts, so they compare).
    let range: ClosedRange<Double>
    let threshold: Double?
    let xLabel: String
    let label: String
    var bins = 30

    func render() -> String {
        let (left, top, width, height) = (62.0, 10.0, 380.0, 170.0)
        let shares = groups.map { Self.shares($0.values, range: range, bins: bins) }
        let top_ = SVG.niceCeiling(shares.flatMap { $0 }.max() ?? 0)
        var parts: [String] = []
        for tick in SVG.ticks(upTo: top_, count: SVG.niceTickCount(top_)) {
            let y = top + height * (1 - tick / top_)
            parts.append(SVG.line(left, y, left + width, y, [("stroke", tick == 0 ? ReportStyle.axis : ReportStyle.grid), ("stroke-width", "1")]))
            parts.append(SVG.text(ReportNumber.coordinate(tick * 100) + " %", x: left - 6, y: y + 3.5, anchor: "end", [("class", "tick")]))
        }
        let span = range.upperBound - range.lowerBound
        for tick in SVG.ticks(upTo: 1, count: 4) {
            let x = left + width * tick
            parts.append(SVG.line(x, top + height, x, top + height + 4, [("stroke", ReportStyle.axis), ("stroke-width", "1")]))
            parts.append(SVG.text(ReportNumber.magnitude(range.lowerBound + span * tick), x: x, y: top + height + 15, anchor: "middle",
                                  [("class", "tick")]))
        }
        let binWidth = width / Double(bins)
        for (group, share) in zip(groups, shares) where !group.values.isEmpty {
            var outline: [(x: Double, y: Double)] = [(left, top + height)]
            for (bin, value) in share.enumerated() {
                let y = top + height * (1 - value / top_)
                outline.append((left + Double(bin) * binWidth, y))
                outline.append((left + Double(bin + 1) * binWidth, y))
            }
            outline.append((left + width, top + height))
            parts.append(SVG.path(outline, [("class", "hist \(group.cssClass)"), ("fill", group.color), ("fill-opacity", "0.14"),
                                            ("stroke", group.color), ("stroke-width", "1.6"), ("stroke-linejoin", "round")],
                                  closed: true, title: "\(group.name): \(ReportNumber.count(group.values.count)) samples"))
        }
        if let threshold, threshold.isFinite, span > 0, range.contains(threshold) {
            let x = left + width * (threshold - range.lowerBound) / span
            parts.append(SVG.line(x, top, x, top + height, [("class", "threshold"), ("stroke", ReportStyle.ink), ("stroke-width", "1.2"),
                                                            ("stroke-dasharray", "4 3")]))
            parts.append(SVG.text("attack threshold", x: x + 4, y: top + 11, [("class", "tick")]))
        }
        parts.append(SVG.text(xLabel, x: left + width / 2, y: top + height + 32, anchor: "middle", [("class", "axis-label")]))
        parts.append(SVG.verticalText("Share of the group", x: 12, y: top + height / 2, [("class", "axis-label")]))
        return SVG.document(width: left + width + 20, height: top + height + 40, label: label, parts)
    }

    /// Each bin's share of the finite values (a value on the upper edge goes in the last bin; values
    /// outside the range in the nearest bin). All zeros without values.
    static func shares(_ values: [Double], range: ClosedRange<Double>, bins: Int) -> [Double] {
        var counts = [Int](repeating: 0, count: max(bins, 1))
        let finite = values.filter(\.isFinite)
        let span = range.upperBound - range.lowerBound
        for value in finite {
            let position = span > 0 ? (value - range.lowerBound) / span * Double(counts.count) : 0
            let bin = position.isFinite ? Int(min(max(position, 0), Double(counts.count - 1))) : 0
            counts[bin] += 1
        }
        return counts.map { finite.isEmpty ? 0 : Double($0) / Double(finite.count) }
    }

    /// A range for every finite value of every group, with round ends: from 0 (or the smallest
    /// value, when below 0) to a round number at or above the largest (`SVG.niceCeiling`). The
    /// features are entropies and probabilities, so this is [0, 1] or [0, a round entropy].
    static func range(of values: [[Double]]) -> ClosedRange<Double> {
        let finite = values.joined().filter(\.isFinite)
        guard let low = finite.min(), let high = finite.max() else { return 0...1 }
        let start = min(low, 0)
        let end = high > 0 ? SVG.niceCeiling(high) : start < 0 ? 0 : 1
        return start < end ? start...end : start...(start + 1)
    }
}
