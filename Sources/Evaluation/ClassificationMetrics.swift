/// Classification metrics of predicted class probabilities against true labels, with the exact
/// definitions stated in `definitions` (they travel into reports and attestations):
/// the prediction is the arg-max (the lowest class on ties); macro averages run over the classes
/// that occur as a label or a prediction; a class never predicted has precision 0; F1 is 0 where
/// precision + recall is 0; sensitivity is recall; specificity is TN / (TN + FP); one-vs-rest ROC
/// AUC is the Mann–Whitney statistic of the class's probability (ties count 1/2), defined where
/// the class has both positive and negative samples, and averaged over those classes.
public struct ClassificationMetrics: Sendable, Equatable {
    public static let definitions = """
        prediction = arg-max of the probabilities (lowest class on ties); macro averages over classes \
        occurring as a label or a prediction; precision of a never-predicted class = 0; F1 = 0 where \
        precision + recall = 0; sensitivity = recall = TP/(TP+FN); specificity = TN/(TN+FP); one-vs-rest \
        ROC AUC = Mann-Whitney U of the class probability, ties 1/2, over classes with positives and \
        negatives; confusion matrix rows = true class, columns = predicted class
        """

    public let samples: Int
    public let accuracy: Double
    public let macroPrecision: Double, macroRecall: Double, macroF1: Double
    /// Per class (index = class), over all classes of the model.
    public let precision: [Double], recall: [Double], f1: [Double], specificity: [Double]
    public let auc: [Double?]
    public let macroAUC: Double?
    public let confusion: [[Int]]

    public var sensitivity: [Double] { recall }

    /// - Parameters: `probabilities` holds `classes` values per sample, row after row.
    public init(labels: [Int], probabilities: [Float], classes: Int) {
        precondition(probabilities.count == labels.count * classes)
        let n = labels.count
        let predicted = (0..<n).map { s -> Int in
            let row = probabilities[(s * classes)..<((s + 1) * classes)]
            return row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }! - s * classes
        }
        var confusion = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (truth, guess) in zip(labels, predicted) { confusion[truth][guess] += 1 }
        self.confusion = confusion
        samples = n
        accuracy = n == 0 ? 0 : Double(zip(labels, predicted).filter { $0 == $1 }.count) / Double(n)

        var precision = [Double](repeating: 0, count: classes), recall = precision, f1 = precision, specificity = precision
        for c in 0..<classes {
            let tp = Double(confusion[c][c])
            let fp = Double((0..<classes).reduce(0) { $0 + ($1 == c ? 0 : confusion[$1][c]) })
            let fn = Double((0..<classes).reduce(0) { $0 + ($1 == c ? 0 : confusion[c][$1]) })
            let tn = Double(n) - tp - fp - fn
            precision[c] = tp + fp > 0 ? tp / (tp + fp) : 0
            recall[c] = tp + fn > 0 ? tp / (tp + fn) : 0
            f1[c] = precision[c] + recall[c] > 0 ? 2 * precision[c] * recall[c] / (precision[c] + recall[c]) : 0
            specificity[c] = tn + fp > 0 ? tn / (tn + fp) : 0
        }
        self.precision = precision
        self.recall = recall
        self.f1 = f1
        self.specificity = specificity
        let occurring = Set(labels).union(predicted).sorted()
        func mean(_ values: [Double]) -> Double { occurring.isEmpty ? 0 : occurring.map { values[$0] }.reduce(0, +) / Double(occurring.count) }
        macroPrecision = mean(precision)
        macroRecall = mean(recall)
        macroF1 = mean(f1)

        let auc: [Double?] = (0..<classes).map { c in
            let scores = (0..<n).map { Double(probabilities[$0 * classes + c]) }
            return Self.mannWhitneyAUC(scores: scores, positive: labels.map { $0 == c })
        }
        self.auc = auc
        let defined = auc.compactMap { $0 }
        macroAUC = defined.isEmpty ? nil : defined.reduce(0, +) / Double(defined.count)
    }

    /// P(score of a positive > score of a negative) + ½ P(equal), by ranks; nil without both kinds.
    static func mannWhitneyAUC(scores: [Double], positive: [Bool]) -> Double? {
        let positives = positive.filter { $0 }.count, negatives = positive.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var rankSum = 0.0
        var i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, scores[order[j + 1]] == scores[order[i]] { j += 1 }
            let averageRank = Double(i + j) / 2 + 1  // ranks from 1; ties share their mean rank
            for k in i...j where positive[order[k]] { rankSum += averageRank }
            i = j + 1
        }
        let u = rankSum - Double(positives * (positives + 1)) / 2
        return u / Double(positives * negatives)
    }
}
