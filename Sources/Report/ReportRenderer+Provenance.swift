/// The "what was done" section, from the model's forgetting attestation: signature status, the
/// passes with their parameters and per-tensor changes, optimizer state, inputs and outputs with
/// their digests, the lineage chain and the record's warnings.
extension ReportRenderer {
    static func provenanceSection(_ model: ReportModel) -> String {
        guard let record = model.provenance else {
            return section("What was done", id: "provenance",
                           Markup.text("div", [("class", "banner note")], model.provenanceNote ?? "No forgetting attestation was read."))
        }
        var parts: [String] = []
        let signature = record.signature
        let state = switch signature.state {
        case .verified: "banner ok"
        case .failed: "banner bad"
        case .unchecked: "banner note"
        }
        let title = switch signature.state {
        case .verified: "Signature verified. "
        case .failed: "Record does not verify. "
        case .unchecked: "Signature not checked. "
        }
        parts.append(Markup.element("div", [("class", state), ("data-signature", "\(signature.state)")],
                                    Markup.text("strong", [], title) + Markup.escape(signature.summary)
                                        + (signature.problems.isEmpty ? "" : Markup.element("ul", [("class", "problems")],
                                                                                             signature.problems.map { Markup.text("li", [], $0) }.joined()))))
        var facts = ["record " + record.record]
        if !record.tool.isEmpty { facts.append(record.tool) }
        if let time = record.time { facts.append(time) }
        facts.append(record.classes.isEmpty ? "no forget classes" : classList(record.classes, model))
        parts.append(Markup.text("p", [("class", "sub")], facts.joined(separator: " · ")))

        for (index, pass) in record.passes.enumerated() {
            var content = Markup.element("h3", [], Markup.escape("\(index + 1). ") + Markup.text("code", [], pass.spec))
            if !pass.parameters.isEmpty {
                content += Markup.element("p", [], pass.parameters.map { Markup.text("code", [], "\($0.name) = \($0.value)") }.joined(separator: " · "))
            }
            let changed = pass.changes.filter { $0.elementsChanged > 0 }
            if changed.isEmpty {
                content += Markup.text("p", [("class", "lead")], "Changed no element.")
            } else {
                let elements = changed.reduce(0) { $0 &+ $1.elementsChanged }
                content += Markup.text("p", [("class", "lead")], "Changed \(ReportNumber.count(elements)) elements in \(changed.count) tensor\(changed.count == 1 ? "" : "s"); bars: L2 norm of each tensor's change, relative to the largest.")
                content += SVGTensorChanges(changes: changed, label: "Per-tensor change of pass \(index + 1)").render()
                if changed.count > SVGTensorChanges.limit {
                    content += Markup.text("p", [("class", "lead")], "and \(changed.count - SVGTensorChanges.limit) smaller changes (all in the record).")
                }
            }
            parts.append(Markup.element("div", [("class", "pass")], content))
        }
        parts.append(Markup.text("h3", [], "Optimizer state"))
        let groups = record.optimizer.groups.joined(separator: ", ")
        let optimizer = switch record.optimizer.action {
        case "dropped": "Dropped (it was computed from the data being forgotten): \(groups)."
        case "kept": "Kept (--keep-optimizer-state): \(groups)."
        case "none": "The input held none."
        default: "Not recorded."
        }
        parts.append(Markup.text("p", [], optimizer))
        parts.append(Markup.text("h3", [], "Inputs and outputs"))
        parts.append(fileTable(record.inputs + record.outputs))
        parts.append(Markup.text("h3", [], "Lineage"))
        parts.append(lineage(record.lineage, model))
        if !record.warnings.isEmpty {
            parts.append(Markup.text("h3", [], "Warnings the record keeps"))
            parts.append(Markup.element("ul", [], record.warnings.map { Markup.text("li", [], $0) }.joined()))
        }
        return section("What was done", id: "provenance", parts.joined(separator: "\n"))
    }

    static func fileTable(_ files: [Provenance.File]) -> String {
        let head = Markup.element("tr", [], ["Role", "File", "SHA-256"].map { Markup.text("th", [], $0) }.joined())
        let rows = files.map { file in
            Markup.element("tr", [], Markup.text("td", [], file.role) + Markup.text("td", [("class", "mono")], file.path)
                + Markup.text("td", [("class", "digest")], file.sha256.isEmpty ? "not computed" : file.sha256))
        }
        return Markup.element("table", [("class", "files")], Markup.element("thead", [], head) + Markup.element("tbody", [], rows.joined(separator: "\n")))
    }

    /// The chain from the original checkpoint to this model: each edit's input, passes and classes.
    static func lineage(_ links: [Provenance.Link], _ model: ReportModel) -> String {
        var steps: [String] = []
        if let origin = links.first?.input {
            steps.append(Markup.element("div", [("class", "step")], Markup.text("strong", [], "original") + "<br>" + Markup.text("span", [("class", "mono")], origin)))
        }
        for (index, link) in links.enumerated() {
            var content = Markup.text("strong", [], link.passes.isEmpty ? "no pass" : link.passes.joined(separator: ", "))
            if !link.classes.isEmpty { content += "<br>" + Markup.escape(classList(link.classes, model)) }
            content += "<br>" + Markup.text("span", [("class", "digest")], "record " + link.record)
            if let problem = link.problem { content += Markup.text("div", [("class", "problems")], problem) }
            if index > 0 || links.first?.input != nil { steps.append(Markup.text("span", [("class", "arrow")], "→")) }
            steps.append(Markup.element("div", [("class", index == links.count - 1 ? "step current" : "step")], content))
        }
        let note = links.count > 1 ? "Each earlier record was found by the path and digest its child recorded; ckptforget audit verifies their signatures." : "The input had no record of its own: this is the first recorded edit."
        return Markup.element("div", [("class", "chain")], steps.joined()) + Markup.text("p", [("class", "lead")], note)
    }
}
