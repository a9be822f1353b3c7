import Evaluation

/// One forgotten class's one-vs-rest ROC curves, before (dashed, `roc-before`) and after
/// (solid, `roc-after`) the edit, on a unit square with the chance diagonal. A class the model
/// has forgotten falls toward the diagonal (AUC ½) or below it; one it still ranks first stays in
/// the top-left corner, whatever its accuracy says.
struct SVGROCCurve {
    let before: ROCCurve?
    let after: ROCCurve?
    let label: String

    static let side = 220.0

    func render() -> String {
        let (left, top, side) = (48.0, 10.0, Self.side)
        func point(_ p: ROCCurve.Point) -> (x: Double, y: Double) {
            (left + side * p.falsePositiveRate, top + side * (1 - p.truePositiveRate))
        }
        var parts: [String] = []
        for tick in SVG.ticks(upTo: 1, count: 4) {
            let (x, y) = (left + side * tick, top + side * (1 - tick))
            parts.append(SVG.line(left, y, left + side, y, [("stroke", ReportStyle.grid), ("stroke-width", "1")]))
            parts.append(SVG.line(x, top, x, top + side, [("stroke", ReportStyle.grid), ("stroke-width", "1")]))
            parts.append(SVG.text(ReportNumber.plain(tick), x: left - 6, y: y + 3.5, anchor: "end", [("class", "tick")]))
            parts.append(SVG.text(ReportNumber.plain(tick), x: x, y: top + side + 14, anchor: "middle", [("class", "tick")]))
        }
        parts.append(SVG.rect(x: left, y: top, width: side, height: side, [("fill", "none"), ("stroke", ReportStyle.axis), ("stroke-width", "1")]))
        parts.append(SVG.line(left, top + side, left + side, top, [("class", "chance"), ("stroke", ReportStyle.axis), ("stroke-width", "1"),
                                                                  ("stroke-dasharray", "2 3")]))
        if let before {
            parts.append(SVG.path(Self.simplified(before.points).map(point),
                                  [("class", "roc roc-before"), ("fill", "none"), ("stroke", ReportStyle.before), ("stroke-width", "2"),
                                   ("stroke-dasharray", "5 3")], title: "before: AUC \(ReportNumber.score(before.area))"))
        }
        if let after {
            parts.append(SVG.path(Self.simplified(after.points).map(point),
                                  [("class", "roc roc-after"), ("fill", "none"), ("stroke", ReportStyle.after), ("stroke-width", "2.2")],
                                  title: "after: AUC \(ReportNumber.score(after.area))"))
        }
        parts.append(SVG.text("False-positive rate", x: left + side / 2, y: top + side + 32, anchor: "middle", [("class", "axis-label")]))
        parts.append(SVG.verticalText("True-positive rate", x: 12, y: top + side / 2, [("class", "axis-label")]))
        return SVG.document(width: left + side + 12, height: top + side + 40, label: label, parts)
    }

    /// The points that move the curve by at least a fifth of a pixel (and the last): the curve
    /// of a large data set has a point per distinct score, far more than its drawing needs. The
    /// curve is monotone, so dropping points in between changes nothing visible.
    static func simplified(_ points: [ROCCurve.Point]) -> [ROCCurve.Point] {
        let step = 0.2 / side
        var kept: [ROCCurve.Point] = []
        for (index, point) in points.enumerated() {
            if let last = kept.last, index != points.count - 1,
               abs(point.falsePositiveRate - last.falsePositiveRate) < step, abs(point.truePositiveRate - last.truePositiveRate) < step {
                continue
            }
            kept.append(point)
        }
        return kept
    }
}
