import Testing
@testable import Evaluation

/// ROC curves against points worked out by hand, and their area against the Mann–Whitney AUC.
@Suite struct ROCCurveTests {
    @Test func tiesMoveTogetherAsADiagonalStep() throws {
        // Scores (positive?): .9 (yes), .7 (no), .7 (yes), .2 (no). By decreasing threshold:
        // .9 → TPR ½; .7 takes one of each → (½, 1); .2 → (1, 1).
        let curve = try #require(ROCCurve(scores: [0.9, 0.7, 0.7, 0.2], positive: [true, false, true, false]))
        #expect(curve.points.map { [$0.falsePositiveRate, $0.truePositiveRate] } == [[0, 0], [0, 0.5], [0.5, 1], [1, 1]])
        // Area: ½·(½ + 1)/2 + ½·1 = 0.875; Mann–Whitney: .9 beats both (2), .7 beats .2 and ties .7 (1.5) → 3.5/4.
        #expect(curve.area == 0.875)
        #expect(ClassificationMetrics.mannWhitneyAUC(scores: [0.9, 0.7, 0.7, 0.2], positive: [true, false, true, false]) == 0.875)
    }

    @Test func areaEqualsTheMetricsAUCOnEveryClass() throws {
        let outputs: [Float] = [0.6, 0.3, 0.1, 0.2, 0.5, 0.3, 0.7, 0.2, 0.1, 0.5, 0.4, 0.1, 0.1, 0.8, 0.1, 0.3, 0.6, 0.1]
        let predictions = Predictions(outputs: outputs, labels: [2, 2, 0, 0, 1, 1], classes: 3)
        let breakdown = ClassBreakdown(predictions, forgetClasses: [2, 0, 1])
        #expect(breakdown.curves.map(\.forgetClass) == [2, 0, 1])
        for curve in breakdown.curves {
            #expect(abs(curve.curve.area - (breakdown.metrics.auc[curve.forgetClass] ?? -1)) < 1e-12)
        }
        // Class 2: positives .1 and .3, four negatives at .1 → (0,0) (0,½) (1,1), area ¾.
        #expect(breakdown.curves[0].curve.points.count == 3 && breakdown.curves[0].curve.area == 0.75)
    }

    @Test func noCurveWithoutBothKinds() {
        #expect(ROCCurve(scores: [0.1, 0.2], positive: [true, true]) == nil)
        #expect(ROCCurve(scores: [], positive: []) == nil)
        #expect(ROCCurve(scores: [0.1], positive: [true, false]) == nil)
        // A NaN score ranks below every other (and does not trap).
        let curve = ROCCurve(scores: [.nan, 0.5], positive: [true, false])
        #expect(curve?.area == 0)
    }

    @Test func theBreakdownJoinsForgetAndRetain() {
        let forget = Predictions(outputs: [0.6, 0.3, 0.1], labels: [2], classes: 3)
        let retain = Predictions(outputs: [0.7, 0.2, 0.1], labels: [0], classes: 3)
        let detailed = Assessment(forget: forget, retain: retain, test: nil, feature: .entropy, forgetClasses: [2], detailed: true)
        #expect(detailed.breakdown?.metrics.confusion == [[1, 0, 0], [0, 0, 0], [1, 0, 0]])
        #expect(Assessment(forget: forget, retain: retain, test: nil, feature: .entropy).breakdown == nil)
    }
}
