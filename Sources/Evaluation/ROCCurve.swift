/// A one-vs-rest ROC curve: for every threshold on a class's score, the share of negatives above it
/// (false-positive rate) against the share of positives above it (true-positive rate). Samples with
/// equal scores move together, so the curve has one point per distinct score and a tie is a
/// diagonal segment; the area under it (trapezoids) is then exactly the Mann–Whitney AUC with ties
/// counted ½ that `ClassificationMetrics.auc` reports.
public struct ROCCurve: Sendable, Equatable {
    public struct Point: Sendable, Equatable {
        public let falsePositiveRate: Double
        public let truePositiveRate: Double

        public init(falsePositiveRate: Double, truePositiveRate: Double) {
            self.falsePositiveRate = falsePositiveRate
            self.truePositiveRate = truePositiveRate
        }
    }

    /// From (0, 0) to (1, 1), by decreasing threshold.
    public let points: [Point]
    public let positives: Int, negatives: Int

    /// The curve of `scores` (one per sample) for the samples marked `positive`; nil unless both
    /// kinds occur (the rates would divide by zero). A NaN score ranks below every other.
    public init?(scores: [Double], positive: [Bool]) {
        guard scores.count == positive.count else { return nil }
        let positives = positive.filter { $0 }.count, negatives = positive.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { a, b in
            if scores[a].isNaN != scores[b].isNaN { return scores[b].isNaN }
            return scores[a] > scores[b]
        }
        var points = [Point(falsePositiveRate: 0, truePositiveRate: 0)]
        var truePositives = 0, falsePositives = 0, i = 0
        while i < order.count {
            var j = i
            while j + 1 < order.count, Self.tied(scores[order[j + 1]], scores[order[i]]) { j += 1 }
            for k in i...j { if positive[order[k]] { truePositives += 1 } else { falsePositives += 1 } }
            points.append(Point(falsePositiveRate: Double(falsePositives) / Double(negatives),
                                truePositiveRate: Double(truePositives) / Double(positives)))
            i = j + 1
        }
        self.points = points
        self.positives = positives
        self.negatives = negatives
    }

    /// The area under the curve by trapezoids.
    public var area: Double {
        zip(points, points.dropFirst()).reduce(0) { sum, pair in
            sum + (pair.1.falsePositiveRate - pair.0.falsePositiveRate) * (pair.0.truePositiveRate + pair.1.truePositiveRate) / 2
        }
    }

    private static func tied(_ a: Double, _ b: Double) -> Bool { a == b || (a.isNaN && b.isNaN) }
}
