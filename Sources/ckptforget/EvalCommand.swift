import Checkpoint
import Engine
import Evaluation
import Foundation
import Manifest

/// `ckptforget eval MODEL --data D [--class C | --forget-ids F] [--json]`: accuracy, macro
/// precision, recall and F1, per-class sensitivity, specificity and ROC AUC, and the confusion
/// matrix, for the forget and retain splits of the data, for all of it, and for held-out data.
enum EvalCommand: Subcommand {
    static var help: String { Help.eval }
    static let options: [Arguments.Option] = DataOptions.options + [
        .value("--class", "-c", repeatable: true), .flag("--json"), .value("--relearn"), .value("--relearn-to"), .value("--before"),
    ]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1 else { throw UsageError.invalid("usage: ckptforget eval MODEL --data D [--class C] [--json]") }
        let checkpoint = try openCheckpoint(arguments.operands[0])
        let classes = try SharedOptions.classes(arguments.all("--class"))
        let selection = try DataOptions.selection(arguments, classes: classes)
        let network = try ClassifierModels.open(checkpoint, spiking: try DataOptions.spiking(arguments, data: selection))
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
        var relearn: (steps: Int?, limit: Int, target: Double)?
        if let limit = try arguments.value("--relearn").map(SharedOptions.relearnLimit) {
            guard let splits else { throw UsageError.invalid("--relearn fine-tunes on the forget split: give --class or --forget-ids") }
            guard let network = network as? Network else {
                throw UsageError.invalid("--relearn fine-tunes the model, which the engine does for Keras models only; \(checkpoint.path) is a spiking graph")
            }
            let target = try relearnTarget(arguments, checkpoint: checkpoint, splits: splits)
            relearn = (try RelearnTime.measure(network, forget: splits.forget, target: target, limit: limit), limit, target)
        } else if arguments.value("--relearn-to") != nil || arguments.value("--before") != nil {
            throw UsageError.invalid("--relearn-to and --before go with --relearn N")
        }
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
                "relearn": relearn.map { relearn in
                    ["steps": JSONValue(relearn.steps), "limit": .integer(relearn.limit), "target_forget_acc": .number(relearn.target),
                     "recipe": .string(RelearnTime.recipe)]
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
            if let relearn {
                lines.append("relearn time: " + (relearn.steps.map { "\(English.count($0, "step")) of fine-tuning on the forget data" } ?? "not within \(English.count(relearn.limit, "step"))")
                    + " to bring its accuracy back to \(Format.number(relearn.target))")
            }
            Console.output((lines + ["(macro averages; definitions: ckptforget eval --json)"]).joined(separator: "\n"))
        }
        return .success
    }

    /// The forget accuracy relearning must reach: `--relearn-to X`; else the `--before` model's on
    /// the forget split; else the one recorded before the edit in the model's attestation.
    static func relearnTarget(_ arguments: Arguments, checkpoint: any CheckpointFile, splits: DataSplits) throws -> Double {
        if let text = arguments.value("--relearn-to") {
            guard let value = Double(text), (0...1).contains(value) else { throw UsageError.invalid("--relearn-to \(text): expected an accuracy from 0 to 1") }
            return value
        }
        if let before = arguments.value("--before") {
            return try splits.forget.runner(try Network(checkpoint: openCheckpoint(before))).accuracy(splits.forget.split)
        }
        let record = checkpoint.format.model(at: checkpoint.path) + ".manifest.json"
        if let bytes = FileManager.default.contents(atPath: record),
           let statement = try? Statement(payload: try SigstoreBundle(bytes: [UInt8](bytes), path: record).envelope.payload, path: record),
           let value = statement.predicate["evaluation"]?["before"]?["forget_acc"]?.double {
            return value
        }
        throw UsageError.invalid("--relearn needs the accuracy to relearn to: --relearn-to X, --before ORIGINAL, or a record beside the model with the metrics before its edit")
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
