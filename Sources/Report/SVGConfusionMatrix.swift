/// A confusion matrix as a grid of `classes²` cells (`cm-cell`), rows the true class and columns
/// the predicted one, each shaded by its share of the row (so a class with few samples reads as
/// clearly as a large one) and labelled with its count where there is room. Each forgotten
/// class's row is outlined (`cm-mark`) and its labels drawn in the forgotten colour: after
/// forgetting, that row's samples should have left the diagonal.
struct SVGConfusionMatrix {
    let confusion: [[Int]]
    let labels: [String]
    let marked: Set<Int>
    let label: String

    func render() -> String {
        let n = confusion.count
        let labels = (0..<n).map { self.labels.indices.contains($0) ? self.labels[$0] : String($0) }
        let cell = Double(min(max(340 / max(n, 1), 8), 38))
        let (left, top) = (64.0, 8.0)
        let side = cell * Double(n)
        var parts: [String] = []
        for (row, counts) in confusion.enumerated() {
            let total = counts.reduce(0, +)
            for (column, count) in counts.enumerated() where column < n {
                let share = total > 0 ? Double(count) / Double(total) : 0
                let (x, y) = (left + Double(column) * cell, top + Double(row) * cell)
                parts.append(SVG.rect(x: x, y: y, width: cell, height: cell,
                                      [("class", "cm-cell"), ("fill", ReportStyle.sequential(share)), ("stroke", "#ffffff"), ("stroke-width", "1")],
                                      title: "true \(labels[row]), predicted \(labels[column]): \(ReportNumber.count(count))"
                                          + (total > 0 ? " (\(ReportNumber.percent(share)) of class \(labels[row]))" : "")))
                if cell >= 22, count > 0 {
                    let size = cell >= 30 || count < 1000 ? "10.5px" : "8.5px"
                    parts.append(SVG.text(String(count), x: x + cell / 2, y: y + cell / 2 + 3.5, anchor: "middle",
                                          [("class", share > 0.55 ? "cm-count on-dark" : "cm-count"), ("style", "font-size:\(size)")]))
                }
            }
        }
        for row in marked.sorted() where (0..<n).contains(row) {
            parts.append(SVG.rect(x: left - 1, y: top + Double(row) * cell - 1, width: side + 2, height: cell + 2,
                                  [("class", "cm-mark"), ("fill", "none"), ("stroke", ReportStyle.forgotten), ("stroke-width", "2")],
                                  title: "forgotten class \(labels[row])"))
        }
        // Tick labels: every class when they fit, else every k-th (the forgotten ones always).
        let every = max(1, Int((14 / cell).rounded(.up)))
        for c in 0..<n where c % every == 0 || marked.contains(c) {
            let style: [(String, String)] = marked.contains(c) ? [("class", "tick forgot-label")] : [("class", "tick")]
            let position = Double(c) * cell + cell / 2
            parts.append(SVG.text(short(labels[c]), x: left - 6, y: top + position + 3.5, anchor: "end", style))
            parts.append(SVG.text(short(labels[c]), x: left + position, y: top + side + 14, anchor: "middle", style))
        }
        parts.append(SVG.text("Predicted class", x: left + side / 2, y: top + side + 32, anchor: "middle", [("class", "axis-label")]))
        parts.append(SVG.verticalText("True class", x: 14, y: top + side / 2, [("class", "axis-label")]))
        return SVG.document(width: left + side + 8, height: top + side + 40, label: label, parts)
    }

    /// A tick label short enough to sit beside a row.
    private func short(_ text: String) -> String {
        text.count > 9 ? String(text.prefix(8)) + "…" : text
    }
}
