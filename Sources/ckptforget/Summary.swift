import Checkpoint
import Evaluation
import Forgetting
import Jobs

/// Human and JSON renderings of a plan and of a run's report.
enum Summary {
    static func plan(_ plan: ForgettingPlan, checkpoint: any CheckpointFile) -> String {
        var lines = ["\(checkpoint.path): \(checkpoint.format.name), \(plan.layout.kind.rawValue) layout, \(checkpoint.tensors.count) tensors"]
        if let layer = plan.outputLayer { lines.append("output layer: \(layer)") }
        if !plan.target.classes.isEmpty { lines.append("forget classes: \(plan.target.classes.map(String.init).joined(separator: ", "))") }
        for step in plan.steps {
            let kind = step.pass is any ModelPass ? " (runs the model)" : ""
            lines.append("pass \(step.spec.text) edits \(step.tensors.count) tensor\(step.tensors.count == 1 ? "" : "s")\(kind):")
            lines += step.tensors.map { "  \($0)" }
        }
        if plan.needsStatisticsFromData { lines.append("statistics: computed from the data when run") }
        for group in plan.droppedGroups { lines.append("drops optimizer state: \(group)/") }
        lines.append("dry run: nothing written")
        return lines.joined(separator: "\n")
    }

    static func json(_ plan: ForgettingPlan, checkpoint: any CheckpointFile) -> JSONValue {
        [
            "input": .string(checkpoint.path),
            "format": .string(checkpoint.format.name),
            "layout": .string(plan.layout.kind.rawValue),
            "classes": JSONValue(plan.target.classes),
            "output_layer": JSONValue(plan.outputLayer),
            "passes": .array(plan.steps.map { step in
                ["name": .string(step.pass.name), "spec": .string(step.spec.text),
                 "kind": .string(step.pass is any ModelPass ? "model" : "tensor"), "tensors": JSONValue(step.tensors),
                 "parameters": .object(step.pass.parameters.map { ($0.name, .string($0.value)) })]
            }),
            "statistics_from_data": .bool(plan.needsStatisticsFromData),
            "dropped_groups": JSONValue(plan.droppedGroups),
            "dry_run": true,
        ]
    }

    static func run(_ report: RunReport) -> String {
        var lines: [String] = []
        for pass in report.passes {
            let changed = pass.changed
            let elements = changed.reduce(0) { $0 + $1.elementsChanged }
            lines.append("\(pass.spec): \(elements) element\(elements == 1 ? "" : "s") changed in \(changed.count) tensor\(changed.count == 1 ? "" : "s")")
            for edit in changed {
                lines.append("  \(edit.tensor): \(edit.elementsChanged) changed, L2 \(Format.number(edit.l2)), max |Δ| \(Format.number(edit.maxAbs))")
            }
        }
        for group in report.droppedGroups {
            let count = report.droppedTensors.filter { $0.name.hasPrefix(group + "/") }.count
            lines.append("dropped optimizer state \(group)/ (\(count) tensors, computed from the data being forgotten); --keep-optimizer-state keeps it")
        }
        if report.droppedGroups.isEmpty, !report.optimizerGroups.isEmpty {
            lines.append("kept optimizer state \(report.optimizerGroups.joined(separator: ", ")) unchanged (computed from the data being forgotten too), as --keep-optimizer-state asks")
        }
        lines.append("wrote \(report.outputFiles.joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }

    /// Before/after metrics, one line per metric, each saying what it measured on which samples
    /// (`classes`: the forget classes; none for sample-wise forgetting).
    static func assessment(before: Assessment, after: Assessment, classes: [Int] = []) -> String {
        let rows = [["METRIC", "BEFORE", "AFTER", "MEASURED"]] + EvaluationRecord.metricNames.compactMap { name in
            guard before.values[name] != nil || after.values[name] != nil else { return nil }
            return [name, before.values[name].map(Format.number) ?? "-", after.values[name].map(Format.number) ?? "-",
                    meaning(of: name, in: after.forget != nil ? after : before, classes: classes)]
        }
        return Format.columns(rows).joined(separator: "\n")
    }

    /// What a metric of the assessment table is, in words, with its split's size.
    private static func meaning(of metric: String, in assessment: Assessment, classes: [Int]) -> String {
        func count(_ metrics: ClassificationMetrics?) -> String {
            metrics.map { " (\($0.samples) sample\($0.samples == 1 ? "" : "s"))" } ?? ""
        }
        let named = classes.isEmpty ? nil : (classes.count == 1 ? "class " : "classes ") + classes.map(String.init).joined(separator: ", ")
        let all = [assessment.forget, assessment.retain, assessment.test].reduce(0) { $0 + ($1?.samples ?? 0) }
        switch metric {
        case "forget_acc": return "accuracy on " + (named ?? "the forget samples") + count(assessment.forget)
        case "retain_acc": return "accuracy on " + (named == nil ? "the retain samples" : "the other classes") + count(assessment.retain)
        case "test_acc": return "accuracy on the test data" + (named.map { " less \($0)" } ?? "") + count(assessment.test)
        case "mia": return "share of the forget samples a membership-inference attack calls members"
        case "forget_share": return "share of all \(all) samples predicted as " + (named ?? "a forget class")
        case "forget_prob": return "mean probability of " + (named ?? "the forget classes") + " over all \(all) samples"
        case "relearn": return "fine-tuning steps until the forget accuracy is back"
        default: return ""
        }
    }

    /// A strength search's trials, one line each, in the order tried.
    static func search(_ parameter: String, _ trials: [(value: Double, metrics: [String: Double], met: Bool)]) -> String {
        let names = EvaluationRecord.metricNames.filter { name in trials.contains { $0.metrics[name] != nil } }
        let rows = [[parameter.uppercased()] + names.map { $0.uppercased() } + ["POLICY"]]
            + trials.map { trial in [Format.number(trial.value)] + names.map { trial.metrics[$0].map(Format.number) ?? "-" } + [trial.met ? "met" : "not met"] }
        return Format.columns(rows).joined(separator: "\n")
    }

    static func records(_ outcome: RecordsOutcome) -> String {
        var lines: [String] = []
        if let parent = outcome.parent { lines.append("lineage: the input's attestation \(parent) is recorded as parent") }
        if let signature = outcome.signature, let algorithm = outcome.signedWith {
            lines.append("signed \(signature) (OpenSSF Model Signing, \(algorithm.signatureName))")
        }
        if let manifest = outcome.manifest {
            lines.append("wrote \(manifest) (" + (outcome.signedWith.map { "signed, \($0.signatureName)" } ?? "unsigned: no --sign-key") + ")")
        }
        return lines.map { "\n" + $0 }.joined()
    }

    static func json(_ report: RunReport) -> JSONValue {
        [
            "input": .string(report.input),
            "output": .string(report.output),
            "format": .string(report.format.name),
            "output_files": JSONValue(report.outputFiles),
            "classes": JSONValue(report.classes),
            "output_layer": JSONValue(report.outputLayer),
            "passes": .array(report.passes.map { pass in
                [
                    "name": .string(pass.name),
                    "spec": .string(pass.spec),
                    "parameters": .object(pass.parameters.map { ($0.name, .string($0.value)) }),
                    "tensors": .array(pass.edits.map { edit in
                        ["tensor": .string(edit.tensor), "elements_changed": .integer(edit.elementsChanged),
                         "l2": .number(edit.l2), "max_abs": .number(edit.maxAbs)]
                    }),
                    "details": pass.details,
                ]
            }),
            "dropped_groups": JSONValue(report.droppedGroups),
            "dropped_tensors": JSONValue(report.droppedTensors.map(\.name)),
        ]
    }
}
