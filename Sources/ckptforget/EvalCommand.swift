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
        let classes = try ForgetCommand.parseClasses(arguments.all("--class"))
        let options = try DataOptions.parse(arguments, classes: classes)
        guard let data = options.data else { throw UsageError.invalid("eval needs --data FILE") }
        func predictions(_ runner: NetworkRunner, _ split: Split) throws -> Predictions {
            let (outputs, labels) = try runner.predictions(split)
            return Predictions(outputs: outputs, labels: labels, classes: network.classes)
        }
        // Bad selections stop the command before any pass: splitting reads the labels alone.
        let splits = !classes.isEmpty || options.forgetIDs != nil ? try options.splits(network: network) : nil
        // One pass over the data; the forget and retain splits are subsets of it.
        let all = try predictions(try NetworkRunner(network: network, data: data, scale: options.scale),
                                  Split(name: "all", indices: Array(0..<data.count)))
        // The held-out set, less the forgotten classes (they are not to be recognised any more).
        let test = try options.testSplit(network: network).map(predictions)
        var results = [("all", all.metrics)]
        var membership: MembershipInference?
        if let splits {
            // fullIsUnion: forget and retain split --data itself, so their indices are positions in `all`.
            let (forget, retain) = splits.fullIsUnion
                ? (all.subset(splits.forget.split.indices), all.subset(splits.retain.split.indices))
                : (try predictions(splits.forget.runner, splits.forget.split), try predictions(splits.retain.runner, splits.retain.split))
            results += [("forget", forget.metrics), ("retain", retain.metrics)]
            // With held-out data: members = retain, non-members = test.
            membership = Assessment(forget: forget, retain: retain, test: test, feature: options.miaFeature).membership
        }
        if let test { results.append(("test", test.metrics)) }
        if arguments.has("--json") {
            Console.output(Summary.jsonText([
                "model": checkpoint.path, "data": data.path, "classes": classes,
                "definitions": ClassificationMetrics.definitions,
                "splits": Dictionary(uniqueKeysWithValues: results.map { ($0.0, json($0.1)) }),
                "mia": membership.map { ["feature": $0.feature.rawValue, "member_share": $0.memberShare, "members": $0.members,
                                         "non_members": $0.nonMembers, "targets": $0.targets, "weight": $0.weight,
                                         "intercept": $0.intercept, "definition": MembershipInference.definition] as [String: Any] } as Any? ?? NSNull(),
            ] as [String: Any]))
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

    static func json(_ metrics: ClassificationMetrics) -> [String: Any] {
        [
            "samples": metrics.samples, "accuracy": metrics.accuracy, "macro_precision": metrics.macroPrecision,
            "macro_recall": metrics.macroRecall, "macro_f1": metrics.macroF1, "macro_auc": metrics.macroAUC as Any? ?? NSNull(),
            "precision": metrics.precision, "recall": metrics.recall, "f1": metrics.f1,
            "sensitivity": metrics.sensitivity, "specificity": metrics.specificity,
            "auc": metrics.auc.map { $0 as Any? ?? NSNull() }, "confusion": metrics.confusion,
        ]
    }
}
