import Checkpoint
import Foundation
import Evaluation
import Forgetting
import Manifest

/// Human and JSON renderings of a plan and of a run's report.
enum Summary {
    static func plan(_ plan: ForgettingPlan, checkpoint: any CheckpointFile) -> String {
        var lines = ["\(checkpoint.path): \(checkpoint.format.rawValue), \(plan.layout.kind.rawValue) layout, \(checkpoint.tensors.count) tensors"]
        if let layer = plan.outputLayer { lines.append("output layer: \(layer)") }
        if !plan.target.classes.isEmpty { lines.append("forget classes: \(plan.target.classes.map(String.init).joined(separator: ", "))") }
        for step in plan.steps {
            lines.append("pass \(step.spec.text) edits \(step.tensors.count) tensor\(step.tensors.count == 1 ? "" : "s"):")
            lines += step.tensors.map { "  \($0)" }
        }
        for group in plan.droppedGroups { lines.append("drops optimizer state: \(group)/") }
        lines.append("dry run: nothing written")
        return lines.joined(separator: "\n")
    }

    static func json(_ plan: ForgettingPlan, checkpoint: any CheckpointFile) -> String {
        jsonText([
            "input": checkpoint.path,
            "format": checkpoint.format.rawValue,
            "layout": plan.layout.kind.rawValue,
            "classes": plan.target.classes,
            "output_layer": plan.outputLayer as Any? ?? NSNull(),
            "passes": plan.steps.map { step in
                ["name": step.pass.name, "spec": step.spec.text, "tensors": step.tensors,
                 "parameters": Dictionary(uniqueKeysWithValues: step.pass.parameters.map { ($0.name, $0.value) })] as [String: Any]
            },
            "dropped_groups": plan.droppedGroups,
            "dry_run": true,
        ] as [String: Any])
    }

    static func run(_ report: RunReport) -> String {
        var lines: [String] = []
        for pass in report.passes {
            let elements = pass.edits.reduce(0) { $0 + $1.elementsChanged }
            lines.append("\(pass.spec): \(elements) element\(elements == 1 ? "" : "s") changed in \(pass.edits.count) tensor\(pass.edits.count == 1 ? "" : "s")")
            for edit in pass.edits {
                lines.append("  \(edit.tensor): \(edit.elementsChanged) changed, L2 \(Format.number(edit.l2)), max |Δ| \(Format.number(edit.maxAbs))")
            }
        }
        for group in report.droppedGroups {
            let count = report.droppedTensors.filter { $0.name.hasPrefix(group + "/") }.count
            lines.append("dropped optimizer state \(group)/ (\(count) tensors, computed from the data being forgotten); --keep-optimizer-state keeps it")
        }
        lines.append("wrote \(report.outputFiles.joined(separator: ", "))")
        return lines.joined(separator: "\n")
    }

    /// Before/after metrics, one line per metric.
    static func assessment(before: Assessment, after: Assessment) -> String {
        let rows = [["METRIC", "BEFORE", "AFTER"]] + ["forget_acc", "retain_acc", "test_acc", "mia"].compactMap { name in
            guard before.values[name] != nil || after.values[name] != nil else { return nil }
            return [name, before.values[name].map(Format.number) ?? "-", after.values[name].map(Format.number) ?? "-"]
        }
        return Format.columns(rows).joined(separator: "\n")
    }

    /// The attestation's `evaluation`: the metrics before and after, and how they were measured.
    static func evaluationRecord(before: Assessment, after: Assessment, requirements: [Requirement], sizes: [String: Int]) -> JSONValue {
        func metrics(_ assessment: Assessment) -> JSONValue {
            .object(["forget_acc", "retain_acc", "test_acc", "mia"].compactMap { name in assessment.values[name].map { (name, JSONValue.number($0)) } })
        }
        return .object([
            ("before", metrics(before)),
            ("after", metrics(after)),
            ("splits", .object(["forget", "retain"].map { ($0, JSONValue.integer(sizes[$0] ?? 0)) }
                + [("test", after.test.map { JSONValue.integer($0.samples) } ?? .null)])),
            ("require", .array(requirements.map { .string("\($0.metric)\($0.comparison)\($0.bound)") })),
            ("definitions", .object([("classification", .string(ClassificationMetrics.definitions)),
                                     ("membership_inference", after.membership.map { _ in JSONValue.string(MembershipInference.definition) } ?? .null),
                                     ("mia_feature", after.membership.map { JSONValue.string($0.feature.rawValue) } ?? .null)])),
        ])
    }

    static func records(_ outcome: RecordedRun.Outcome) -> String {
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

    static func json(_ report: RunReport) -> String {
        let object: [String: Any] = [
            "input": report.input,
            "output": report.output,
            "format": report.format.rawValue,
            "output_files": report.outputFiles,
            "classes": report.classes,
            "output_layer": report.outputLayer as Any? ?? NSNull(),
            "passes": report.passes.map { pass in
                [
                    "name": pass.name,
                    "spec": pass.spec,
                    "parameters": Dictionary(uniqueKeysWithValues: pass.parameters.map { ($0.name, $0.value) }),
                    "tensors": pass.edits.map { ["tensor": $0.tensor, "elements_changed": $0.elementsChanged, "l2": $0.l2, "max_abs": $0.maxAbs] as [String: Any] },
                ] as [String: Any]
            },
            "dropped_groups": report.droppedGroups,
            "dropped_tensors": report.droppedTensors.map(\.name),
        ]
        return jsonText(object)
    }

    static func jsonText(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
