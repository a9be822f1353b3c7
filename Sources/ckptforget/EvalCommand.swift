import Checkpoint
import Engine
import Evaluation
import Foundation

/// `ckptforget eval MODEL --data D [--class C | --forget-ids F] [--json]`: accuracy, macro
/// precision, recall and F1, per-class sensitivity, specificity and ROC AUC, and the confusion
/// matrix, for the forget and retain splits of the data, for all of it, and for held-out data.
enum EvalCommand: Subcommand {
    static var help: String { Help.eval }
    static let options: [Arguments.Option] = DataOptions.options + [.value("--class", "-c", repeatable: true), .flag("--json")]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1 else { throw UsageError.invalid("usage: ckptforget eval MODEL --data D [--class C] [--json]") }
        let checkpoint = try openCheckpoint(arguments.operands[0])
        let network = try Network(checkpoint: checkpoint)
        let classes = try SharedOptions.classes(arguments.all("--class"))
        let selection = try DataOptions.selection(arguments, classes: classes)
        let feature = try DataOptions.miaFeature(arguments)
        guard let data = selection.data else { throw UsageError.invalid("eval needs --data FILE") }
        // Bad selections stop the command before any pass: splitting reads the labels alone.
        let splits = selection.hasTarget ? try selection.splits(network: network) : nil
        // One pass over the data; the forget and retain splits are subsets of it.
        let all = try Predictions(of: network, on: DataPart(data: data, split: Split(name: "all", indices: Array(0..<data.count)), scale: selection.scale))
        // The held-out set, less the forgotten classes (they are not to be recognised any more).
        let test = try (splits?.test ?? selection.testPart(network: network)).map { try Predictions(of: network, on: $0) }
        var results = [("all", all.metrics)]
        var membership: MembershipInference?
        if let splits {
            // fullIsUnion: forget and retain split --data itself, so their indices are positions in `all`.
            let (forget, retain) = splits.fullIsUnion
                ? (all.subset(splits.forget.split.indices), all.subset(splits.retain.split.indices))
                : (try Predictions(of: network, on: splits.forget), try Predictions(of: network, on: splits.retain))
            results += [("forget", forget.metrics), ("retain", retain.metrics)]
            // With held-out data: members = retain, non-members = test.
            membership = Assessment(forget: forget, retain: retain, test: test, feature: feature).membership
        }
        if let test { results.append(("test", test.metrics)) }
        if arguments.has("--json") {
            let object: JSONValue = [
                "model": .string(checkpoint.path), "data": .string(data.path), "classes": JSONValue(classes),
                "definitions": .string(ClassificationMetrics.definitions),
                "splits": .object(results.map { ($0.0, json($0.1)) }),
                "mia": membership.map { mia in
                    ["feature": .string(mia.feature.rawValue), "member_share": .number(mia.memberShare), "members": .integer(mia.members),
                     "non_members": .integer(mia.nonMembers), "targets": .integer(mia.targets), "weight": .number(mia.weight),
                     "intercept": .number(mia.intercept), "definition": .string(MembershipInference.definition)]
                } ?? .null,
            ]
            Console.output(object.pretty)
        } else {
            var rows = [["SPLIT", "SAMPLES", "ACCURACY", "PRECISION", "RECALL", "F1", "AUC"]]
            for (name, metrics) in results {
                rows.append([name, String(metrics.samples), Format.number(metrics.accuracy), Format.number(metrics.macroPrecision),
                             Format.number(metrics.macroRecall), Format.number(metrics.macroF1), metrics.macroAUC.map(Format.number) ?? "-"])
            }
            var lines = Format.columns(rows)
            if let membership {
                lines.append("membership inference (\(membership.feature.rawValue)): \(Format.number(membership.memberShare)) of \(membership.targets) forget samples judged members (lower = forgotten)")
            }
            Console.output((lines + ["(macro averages; definitions: ckptforget eval --json)"]).joined(separator: "\n"))
        }
        return .success
    }

    static func json(_ metrics: ClassificationMetrics) -> JSONValue {
        [
            "samples": .integer(metrics.samples), "accuracy": .number(metrics.accuracy), "macro_precision": .number(metrics.macroPrecision),
            "macro_recall": .number(metrics.macroRecall), "macro_f1": .number(metrics.macroF1), "macro_auc": JSONValue(metrics.macroAUC),
            "precision": JSONValue(metrics.precision), "recall": JSONValue(metrics.recall), "f1": JSONValue(metrics.f1),
            "sensitivity": JSONValue(metrics.sensitivity), "specificity": JSONValue(metrics.specificity),
            "auc": .array(metrics.auc.map { JSONValue($0) }), "confusion": .array(metrics.confusion.map { JSONValue($0) }),
        ]
    }
}
