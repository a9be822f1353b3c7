import Evaluation

/// The class-by-class sections: confusion matrices before and after, per-class accuracy bars, the
/// per-class table and the forgotten classes' ROC curves, all over the training data (the forget
/// and retain splits together: `Assessment.breakdown`).
extension ReportRenderer {
    static func classSections(_ model: ReportModel, _ measurement: ReportModel.Measurement) -> [String] {
        guard let after = measurement.after.breakdown else { return [] }
        let classes = after.metrics.confusion.count
        // A model before the edit with other classes is not compared class by class.
        let before = measurement.before?.breakdown.flatMap { $0.metrics.confusion.count == classes ? $0 : nil }
        let labels = (0..<classes).map(model.label)
        let marked = Set(model.forgetClasses)
        let samples = after.metrics.samples
        let over = "Over the \(ReportNumber.count(samples)) samples of the forget and retain splits together."
        var sections: [String] = []

        if classes > maxClassesDrawn {
            sections.append(section("Classes", Markup.text("div", [("class", "banner note")],
                                                            "The model has \(classes) classes, too many to draw a matrix or bars of; the table lists them.")))
        } else {
            let matrices = [("Before the edit", before), ("After the edit", after)].compactMap { title, breakdown in
                breakdown.map { figure(title, SVGConfusionMatrix(confusion: $0.metrics.confusion, labels: labels, marked: marked,
                                                                 label: "Confusion matrix \(title.lowercased())").render()) }
            }
            sections.append(section("Confusion matrices", id: "confusion",
                                    lead: over + " Rows are the true class, columns the predicted class; each cell is shaded by its share of the row and shows its count."
                                        + (marked.isEmpty ? "" : " The forgotten classes' rows are outlined."),
                                    Markup.element("div", [("class", "figures pair")], matrices.joined())))
            let accuracy = { (breakdown: ClassBreakdown) -> [Double?] in
                breakdown.metrics.confusion.enumerated().map { c, row in
                    let total = row.reduce(0, +)
                    return total > 0 ? Double(row[c]) / Double(total) : nil
                }
            }
            var series: [SVGBarChart.Series] = []
            if let before { series.append(.init(name: "Before", cssClass: "bar-before", color: ReportStyle.before, values: accuracy(before))) }
            series.append(.init(name: "After", cssClass: "bar-after", color: ReportStyle.after, values: accuracy(after)))
            let chart = SVGBarChart(groups: labels, series: series, highlighted: marked, xLabel: "Class", yLabel: "Accuracy (recall)",
                                    label: "Per-class accuracy before and after").render()
            sections.append(section("Per-class accuracy", id: "accuracy",
                                    lead: over + " A class's accuracy is the share of its samples predicted as it (its recall)" + (marked.isEmpty ? "." : "; the forgotten classes are shaded."),
                                    legend(series.map { ($0.name, $0.color) } + (marked.isEmpty ? [] : [("forgotten class", ReportStyle.forgottenBand)])) + chart))
        }
        sections.append(section("Per-class metrics", id: "per-class", lead: over, classTable(model, before: before?.metrics, after: after.metrics)))
        if !after.curves.isEmpty {
            let figures = after.curves.map { curve in
                let previous = before?.curves.first { $0.forgetClass == curve.forgetClass }?.curve
                let caption = "Class \(model.label(curve.forgetClass))"
                let auc = (previous.map { "AUC \(ReportNumber.score($0.area)) → " } ?? "AUC ") + ReportNumber.score(curve.curve.area)
                return figure(caption + " · " + auc, SVGROCCurve(before: previous, after: curve.curve, label: "ROC curve of class \(model.label(curve.forgetClass))").render())
            }
            sections.append(section("ROC curves of the forgotten classes", id: "roc",
                                    lead: "One-vs-rest, scored by the class's own output, over the forget and retain splits. A class the model still ranks first stays in the top-left corner even when its accuracy is 0; a forgotten one falls to the diagonal (chance) or below.",
                                    legend((before == nil ? [] : [("Before (dashed)", ReportStyle.before)]) + [("After", ReportStyle.after), ("Chance", ReportStyle.axis)])
                                        + Markup.element("div", [("class", "figures")], figures.joined())))
        }
        return sections
    }

    /// Samples, precision, recall, F1 and ROC AUC per class, before and after side by side.
    static func classTable(_ model: ReportModel, before: ClassificationMetrics?, after: ClassificationMetrics) -> String {
        let classes = after.confusion.count
        let marked = Set(model.forgetClasses)
        var shown = Array(0..<min(classes, maxClassRows))
        shown += model.forgetClasses.filter { $0 >= maxClassRows && $0 < classes }.sorted()
        let names = ["Precision", "Recall", "F1", "ROC AUC"]
        let columns = before == nil ? 1 : 2
        var head = Markup.element("tr", [], Markup.text("th", [("rowspan", before == nil ? "1" : "2")], "Class")
            + Markup.text("th", [("class", "num"), ("rowspan", before == nil ? "1" : "2")], "Samples")
            + names.map { Markup.text("th", [("class", before == nil ? "num first" : "group first"), ("colspan", String(columns))], $0) }.joined())
        if before != nil {
            head += Markup.element("tr", [], String(repeating: Markup.text("th", [("class", "num first")], "before") + Markup.text("th", [("class", "num")], "after"), count: names.count))
        }
        func values(_ metrics: ClassificationMetrics, _ c: Int) -> [Double?] {
            [metrics.precision[c], metrics.recall[c], metrics.f1[c], metrics.auc[c]]
        }
        let rows = shown.map { c -> String in
            let samples = after.confusion[c].reduce(0, +)
            var cells = Markup.text("td", marked.contains(c) ? [("class", "forgot")] : [], model.label(c) + (marked.contains(c) ? " (forgotten)" : ""))
                + Markup.text("td", [("class", "num")], ReportNumber.count(samples))
            let now = values(after, c), was = before.map { values($0, c) }
            for index in names.indices {
                if let was { cells += Markup.text("td", [("class", "num first")], ReportNumber.score(was[index])) }
                cells += Markup.text("td", [("class", was == nil ? "num first" : "num")], ReportNumber.score(now[index]))
            }
            return Markup.element("tr", marked.contains(c) ? [("class", "forgotten")] : [], cells)
        }
        var table = Markup.element("table", [("class", "per-class")], Markup.element("thead", [], head) + Markup.element("tbody", [], rows.joined(separator: "\n")))
        if shown.count < classes {
            table += Markup.text("p", [("class", "lead")], "Showing \(shown.count) of \(classes) classes (the first \(maxClassRows) and the forgotten ones).")
        }
        return table
    }

    static func figure(_ caption: String, _ svg: String) -> String {
        Markup.element("figure", [], Markup.text("figcaption", [], caption) + svg)
    }
}
