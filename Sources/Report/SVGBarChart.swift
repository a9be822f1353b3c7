/// Grouped vertical bars of shares (0 to `axisMaximum`, in %; 100 % by default): one group per class (or per `groupNoun`), one bar per series in each
/// (`bar` and the series' own class, e.g. `bar-before`, `bar-after`), a shaded band behind the
/// highlighted groups (the forgotten classes, `band-forgotten`), gridlines every 25 % and both axes
/// named. A value that could not be measured (a class with no sample) draws no bar.
struct SVGBarChart {
    struct Series {
        let name: String
        let cssClass: String
        let color: String
        let values: [Double?]
    }

    let groups: [String]
    let series: [Series]
    let highlighted: Set<Int>
    let xLabel: String
    let yLabel: String
    let label: String
    /// The top of the axis (a share); values above it are drawn to it.
    var axisMaximum: Double = 1
    /// What a group is, in the bars' tooltips.
    var groupNoun: String = "class"

    func render() -> String {
        let n = max(groups.count, 1)
        let group = Double(min(max(900 / n, 12), 72))
        let bar = max(2, (group - 6) / Double(max(series.count, 1)) * 0.8)
        let (left, top, plotHeight) = (52.0, 10.0, 200.0)
        let plotWidth = group * Double(n)
        var parts: [String] = []
        for c in highlighted.sorted() where groups.indices.contains(c) {
            parts.append(SVG.rect(x: left + Double(c) * group, y: top, width: group, height: plotHeight,
                                  [("class", "band-forgotten"), ("fill", ReportStyle.forgottenBand)]))
        }
        let axisTop = axisMaximum > 0 && axisMaximum.isFinite ? axisMaximum : 1
        for tick in SVG.ticks(upTo: axisTop, count: axisTop == 1 ? 4 : SVG.niceTickCount(axisTop)) {
            let y = top + plotHeight * (1 - tick / axisTop)
            parts.append(SVG.line(left, y, left + plotWidth, y, [("stroke", tick == 0 ? ReportStyle.axis : ReportStyle.grid), ("stroke-width", "1")]))
            parts.append(SVG.text(ReportNumber.coordinate(tick * 100) + " %", x: left - 6, y: y + 3.5, anchor: "end", [("class", "tick")]))
        }
        let inset = (group - bar * Double(series.count)) / 2
        for (s, line) in series.enumerated() {
            for (c, value) in line.values.enumerated() where c < groups.count {
                guard let value, value.isFinite else { continue }
                let height = plotHeight * min(max(value / axisTop, 0), 1)
                let x = left + Double(c) * group + inset + Double(s) * bar
                parts.append(SVG.rect(x: x, y: top + plotHeight - height, width: bar - 1, height: height,
                                      [("class", "bar \(line.cssClass)"), ("fill", line.color)],
                                      title: "\(groupNoun) \(groups[c]), \(line.name.lowercased()): \(ReportNumber.percent(value))"))
                if highlighted.contains(c), group >= 28 {
                    parts.append(SVG.text(ReportNumber.coordinate((value * 100).rounded()), x: x + (bar - 1) / 2, y: top + plotHeight - height - 3,
                                          anchor: "middle", [("class", "tick forgot-label")]))
                }
            }
        }
        let every = max(1, Int((16 / group).rounded(.up)))
        for c in 0..<groups.count where c % every == 0 || highlighted.contains(c) {
            let style = highlighted.contains(c) ? "tick forgot-label" : "tick"
            let text = groups[c].count > 9 ? String(groups[c].prefix(8)) + "…" : groups[c]
            parts.append(SVG.text(text, x: left + (Double(c) + 0.5) * group, y: top + plotHeight + 14, anchor: "middle", [("class", style)]))
        }
        parts.append(SVG.text(xLabel, x: left + plotWidth / 2, y: top + plotHeight + 32, anchor: "middle", [("class", "axis-label")]))
        parts.append(SVG.verticalText(yLabel, x: 12, y: top + plotHeight / 2, [("class", "axis-label")]))
        return SVG.document(width: left + plotWidth + 10, height: top + plotHeight + 40, label: label, parts)
    }
}
