import Evaluation
import Foundation

/// The report page: one self-contained HTML file (inline CSS and SVG, no script, nothing fetched:
/// a Content-Security-Policy of `default-src 'none'` says so to the browser too) that opens from
/// disk and prints. Sections, in order: the headline metrics before → after against the policy;
/// confusion matrices; per-class accuracy bars; the per-class table; ROC curves of the forgotten
/// classes; a spiking network's spike rates per layer; membership-inference histograms; what was
/// done, from the records. The page is a pure function of the `ReportModel`: no clock, no locale,
/// no dictionary order.
public enum ReportRenderer {
    /// Beyond this many classes the matrices and bars are not drawn (the table still lists them).
    static let maxClassesDrawn = 60
    /// Beyond this many classes the table lists the forgotten classes and the first ones only.
    static let maxClassRows = 200

    public static func render(_ model: ReportModel) -> String {
        let name = (model.model as NSString).lastPathComponent
        var body = [header(model, name: name), summary(model)]
        if case .measured(let measurement) = model.metrics {
            body += classSections(model, measurement) + [spikingSection(measurement), membership(measurement)]
        }
        body.append(provenanceSection(model))
        body.append(footer(model))
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="ckptforget \(Markup.escape(model.toolVersion))">
            \(Markup.text("title", [], "Forgetting report: \(name)"))
            <style>
            \(ReportStyle.css)
            </style>
            </head>
            <body>
            \(body.filter { !$0.isEmpty }.joined(separator: "\n"))
            </body>
            </html>

            """
    }

    static func header(_ model: ReportModel, name: String) -> String {
        var facts = [model.forgetClasses.isEmpty ? "sample-wise forgetting" : "forgotten: " + classList(model.forgetClasses, model)]
        if case .measured(let measurement) = model.metrics {
            facts.append("measured on " + measurement.data)
            if let before = measurement.beforeModel { facts.append("before the edit: " + before) }
        }
        return Markup.element("header", [], Markup.text("h1", [], "Forgetting report: \(name)")
            + Markup.text("p", [("class", "sub")], model.model)
            + Markup.element("p", [("class", "sub")], facts.map { Markup.escape($0) }.joined(separator: " · ")))
    }

    /// The headline: each metric before → after as a card, and the policy's verdict.
    static func summary(_ model: ReportModel) -> String {
        guard case .measured(let measurement) = model.metrics else {
            if case .notMeasured(let reason) = model.metrics {
                return section("Summary", Markup.element("div", [("class", "banner note")],
                                                         Markup.text("strong", [], "No metrics are shown. ") + Markup.escape(reason)))
            }
            return ""
        }
        let present = metricTitles.filter { measurement.after.values[$0.0] != nil || measurement.beforeValue($0.0) != nil }
        let (major, minor) = (present.filter { majorMetrics.contains($0.0) }, present.filter { !majorMetrics.contains($0.0) })
        var content = Markup.element("div", [("class", "cards")], major.map { card($0.0, $0.1, measurement, model.policy) }.joined())
        if !minor.isEmpty {
            content += Markup.element("div", [("class", "cards minor")], minor.map { card($0.0, $0.1, measurement, model.policy) }.joined())
        }
        if measurement.before == nil {
            content += Markup.text("p", [("class", "lead")], measurement.recordedBefore.isEmpty
                ? "No model before the edit was given (--before), so only the edited model's metrics are shown."
                : "The values before the edit are those the model's record kept; no model before the edit was run (--before), so the charts show the edited model only.")
        }
        content += policyBanner(model.policy)
        return section("Summary", content)
    }

    /// One metric's card: before → after, the change, and the policy's clauses on it.
    static func card(_ metric: String, _ title: String, _ measurement: ReportModel.Measurement, _ policy: PolicyCheck?) -> String {
        let (was, now) = (measurement.beforeValue(metric), measurement.after.values[metric])
        let value = (was.map { Markup.text("span", [("class", "from")], format(metric, $0) + " → ") } ?? "") + Markup.escape(now.map { format(metric, $0) } ?? "–")
        let delta = was.flatMap { was in now.map { metric == "relearn" ? "" : ReportNumber.points($0 - was) } } ?? ""
        let clauses = (policy?.clauses(on: metric) ?? []).map { clause in
            Markup.text("span", [("class", clause.failure == nil ? "pass-ok" : "pass-bad")], clause.text + (clause.failure == nil ? " ✓" : " ✗"))
        }
        return Markup.element("div", [("class", "card"), ("data-metric", metric)],
                              Markup.text("div", [("class", "name")], title) + Markup.element("div", [("class", "value")], value)
                                  + Markup.element("div", [("class", "delta")], delta.isEmpty ? "&nbsp;" : Markup.escape(delta))
                                  + (clauses.isEmpty ? "" : Markup.element("div", [("class", "policy")], clauses.joined(separator: " "))))
    }

    static func policyBanner(_ policy: PolicyCheck?) -> String {
        guard let policy else {
            return Markup.text("div", [("class", "banner note")], "No policy: give --require (e.g. forget_acc<=0.01,retain_drop<=0.005) to check the metrics against bounds.")
        }
        let clauses = policy.clauses.map { clause in
            Markup.escape(clause.text) + (clause.failure.map { " ✗ (" + Markup.escape($0) + ")" } ?? " ✓")
        }.joined(separator: "; ")
        return Markup.element("div", [("class", policy.met ? "banner ok" : "banner bad"), ("data-policy", policy.met ? "met" : "not-met")],
                              Markup.text("strong", [], policy.met ? "Policy met" : "Policy not met") + Markup.escape(" (\(policy.source)): ") + clauses)
    }

    static func footer(_ model: ReportModel) -> String {
        var lines: [String] = []
        if case .measured(let measurement) = model.metrics {
            lines.append(Markup.text("p", [], "Definitions: " + ClassificationMetrics.definitions + "."))
            if measurement.after.membership != nil {
                lines.append(Markup.text("p", [], MembershipInference.definition.prefix(1).uppercased() + MembershipInference.definition.dropFirst() + "."))
            }
        }
        if !model.sources.isEmpty {
            let files = model.sources.map { source in
                Markup.element("li", [], Markup.escape("\(source.role): \(source.path)")
                    + (source.sha256.isEmpty ? "" : " " + Markup.text("span", [("class", "digest")], "sha256 \(source.sha256)")))
            }
            lines.append(Markup.text("p", [], "Made from:") + Markup.element("ul", [], files.joined()))
        }
        lines.append(Markup.text("p", [], "Made by ckptforget \(model.toolVersion). The page is self-contained: it runs no script and fetches nothing."))
        return Markup.element("footer", [], lines.joined(separator: "\n"))
    }

    // MARK: pieces shared by the sections

    /// The metrics shown large; the others follow in a row of smaller cards.
    static let majorMetrics: Set<String> = ["forget_acc", "retain_acc", "test_acc", "mia"]

    static let metricTitles: [(String, String)] = [
        ("forget_acc", "Forget accuracy"), ("retain_acc", "Retain accuracy"), ("test_acc", "Test accuracy"),
        ("mia", "Forget samples judged members"), ("forget_share", "Predicted as a forgotten class"),
        ("forget_prob", "Probability of the forgotten classes"), ("relearn", "Relearn time"),
    ]

    static func format(_ metric: String, _ value: Double) -> String {
        guard metric == "relearn" else { return ReportNumber.percent(value) }
        return value.isFinite ? ReportNumber.plain(value.rounded()) + " steps" : "–"
    }

    static func section(_ title: String, id: String? = nil, lead: String? = nil, _ content: String) -> String {
        Markup.element("section", id.map { [("id", $0)] } ?? [],
                       Markup.text("h2", [], title) + (lead.map { Markup.text("p", [("class", "lead")], $0) } ?? "") + "\n" + content)
    }

    static func classList(_ classes: [Int], _ model: ReportModel) -> String {
        (classes.count == 1 ? "class " : "classes ") + classes.map(model.label).joined(separator: ", ")
    }

    /// A legend entry: a swatch of `color` and its name.
    static func legend(_ entries: [(name: String, color: String)]) -> String {
        Markup.element("div", [("class", "legend")], entries.map { entry in
            Markup.element("span", [], Markup.element("span", [("class", "swatch"), ("style", "background:\(entry.color)")]) + Markup.escape(entry.name))
        }.joined())
    }
}
