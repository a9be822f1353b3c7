import Foundation
import Testing
@testable import Evaluation

/// Metrics against cases computed exactly (rational arithmetic) by an independent implementation,
/// Fixtures/engine/metrics_cases.json, whose `definitions` match ClassificationMetrics'.
@Suite struct MetricsTests {
    nonisolated(unsafe) static let cases: [[String: Any]] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/engine/metrics_cases.json")
        let root = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return root["cases"] as! [[String: Any]]
    }()

    private func value(_ any: Any?) -> Double? { (any as? [String: Any])?["value"] as? Double }

    @Test func everyCaseMatches() throws {
        #expect(Self.cases.count >= 3)
        for example in Self.cases {
            let name = example["name"] as! String
            let classes = example["num_classes"] as! Int
            let labels = example["y_true"] as! [Int]
            let probabilities = (example["probabilities"] as! [[Double]]).flatMap { $0.map(Float.init) }
            let expected = example["expected"] as! [String: Any]
            let metrics = ClassificationMetrics(labels: labels, probabilities: probabilities, classes: classes)
            let close = { (a: Double, b: Double?) in b != nil && abs(a - b!) < 1e-12 }
            #expect(close(metrics.accuracy, value(expected["accuracy"])), "\(name) accuracy")
            #expect(close(metrics.macroPrecision, value(expected["macro_precision"])), "\(name) precision")
            #expect(close(metrics.macroRecall, value(expected["macro_recall"])), "\(name) recall")
            #expect(close(metrics.macroF1, value(expected["macro_f1"])), "\(name) F1")
            let listed = example["classes"] as! [Int]
            let confusion = expected["confusion_matrix"] as! [[Int]]
            for (i, truth) in listed.enumerated() { for (j, guess) in listed.enumerated() {
                #expect(metrics.confusion[truth][guess] == confusion[i][j], "\(name) confusion \(truth)→\(guess)")
            } }
            let perClass = expected["per_class"] as! [String: [String: Any]]
            for (key, entry) in perClass {
                let c = Int(key)!
                #expect(close(metrics.precision[c], value(entry["precision"])), "\(name) precision[\(c)]")
                #expect(close(metrics.recall[c], value(entry["recall"])), "\(name) recall[\(c)]")
                #expect(close(metrics.f1[c], value(entry["f1"])), "\(name) f1[\(c)]")
                #expect(close(metrics.specificity[c], value(entry["specificity"])), "\(name) specificity[\(c)]")
            }
            let auc = expected["roc_auc_ovr"] as! [String: Any]
            for c in 0..<classes {
                let want = value(auc[String(c)])
                #expect(metrics.auc[c].map { close($0, want) } ?? (want == nil), "\(name) auc[\(c)]: \(String(describing: metrics.auc[c])) vs \(String(describing: want))")
            }
            #expect(metrics.macroAUC.map { close($0, value(expected["roc_auc_macro"])) } ?? (value(expected["roc_auc_macro"]) == nil), "\(name) macro AUC")
        }
    }

    @Test func aucCountsTiesAsHalf() {
        // Positives 0.5, 0.8; negatives 0.5, 0.2: pairs (0.5>0.2), (0.8>0.5), (0.8>0.2) win, (0.5=0.5) half → 3.5/4.
        #expect(ClassificationMetrics.mannWhitneyAUC(scores: [0.5, 0.8, 0.5, 0.2], positive: [true, true, false, false]) == 0.875)
        #expect(ClassificationMetrics.mannWhitneyAUC(scores: [0.1, 0.2], positive: [true, true]) == nil)
    }
}
