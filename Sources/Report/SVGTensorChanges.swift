/// What one pass did to each tensor it changed, one row per tensor: the tensor's name, a bar
/// (`tensor-bar`) whose length is the L2 norm of the change relative to the largest in the pass,
/// and the three numbers the attestation records (elements changed, L2, max |Δ|). At most
/// `limit` rows, the largest changes first; the caller says how many more there were.
struct SVGTensorChanges {
    let changes: [Provenance.TensorChange]
    let label: String

    static let limit = 40

    func render() -> String {
        // A NaN (from a damaged record) sorts last rather than upsetting the order.
        let key = { (change: Provenance.TensorChange) in change.l2.isNaN ? -Double.infinity : change.l2 }
        let rows = Array(changes.sorted { key($0) > key($1) || (key($0) == key($1) && $0.tensor < $1.tensor) }.prefix(Self.limit))
        let (nameWidth, barWidth, rowHeight, top) = (250.0, 260.0, 22.0, 4.0)
        let largest = rows.map(\.l2).filter(\.isFinite).max() ?? 0
        var parts: [String] = []
        for (index, change) in rows.enumerated() {
            let y = top + Double(index) * rowHeight
            let name = change.tensor.count > 38 ? "…" + String(change.tensor.suffix(37)) : change.tensor
            parts.append(SVG.text(name, x: nameWidth - 8, y: y + 14, anchor: "end", [("class", "mono-label")]))
            parts.append(SVG.rect(x: nameWidth, y: y + 4, width: barWidth, height: rowHeight - 8, [("fill", ReportStyle.grid)]))
            let share = largest > 0 && change.l2.isFinite ? min(max(change.l2 / largest, 0), 1) : 0
            parts.append(SVG.rect(x: nameWidth, y: y + 4, width: max(barWidth * share, change.l2 > 0 ? 1.5 : 0), height: rowHeight - 8,
                                  [("class", "tensor-bar"), ("fill", ReportStyle.after)], title: change.tensor))
            parts.append(SVG.text("\(ReportNumber.count(change.elementsChanged)) changed · L2 \(ReportNumber.magnitude(change.l2)) · max |Δ| "
                                  + ReportNumber.magnitude(change.maxAbs), x: nameWidth + barWidth + 10, y: y + 14, [("class", "tick")]))
        }
        return SVG.document(width: nameWidth + barWidth + 260, height: top + Double(max(rows.count, 1)) * rowHeight + 4, label: label, parts)
    }
}
