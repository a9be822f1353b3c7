/// What a report shows class by class, over the training data (the forget and retain splits
/// together, so the forgotten classes' samples sit beside the others): the metrics of each class
/// (confusion matrix, precision, recall = the class's accuracy, F1, ROC AUC) and each forget
/// class's one-vs-rest ROC curve on the class's own output.
public struct ClassBreakdown: Sendable {
    public struct Curve: Sendable, Equatable {
        public let forgetClass: Int
        public let curve: ROCCurve
    }

    public let metrics: ClassificationMetrics
    /// In the order of the forget classes; a class with no sample (or only its samples) has none.
    public let curves: [Curve]

    public init(_ predictions: Predictions, forgetClasses: [Int]) {
        metrics = predictions.metrics
        let samples = predictions.labels.count, classes = predictions.classes
        curves = forgetClasses.filter { (0..<classes).contains($0) }.compactMap { c in
            let scores = (0..<samples).map { Double(predictions.outputs[$0 * classes + c]) }
            return ROCCurve(scores: scores, positive: predictions.labels.map { $0 == c }).map { Curve(forgetClass: c, curve: $0) }
        }
    }
}
