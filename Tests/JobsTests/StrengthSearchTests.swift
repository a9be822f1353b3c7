import Forgetting
@testable import Jobs
import Testing

/// The order of a strength search's trials and the value it chooses, on made-up policies whose
/// outcome for each value is known, so that every trial value can be worked out by hand.
struct StrengthSearchTests {
    /// ssd's alpha grid, weakest (largest) first.
    static let alpha = StrengthScale(parameter: "alpha", grid: [10, 5, 2, 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01])

    /// Runs a search whose trial at `value` fails `forget_acc` when `tooWeak(value)`, fails
    /// `retain_drop` when `tooStrong(value)`, and returns the values tried in order and the choice.
    static func search(_ scale: StrengthScale = alpha, tooWeak: @escaping (Double) -> Bool, tooStrong: @escaping (Double) -> Bool,
                       forgetClause: Bool = true) -> (tried: [Double], chosen: Double?) {
        var tried: [Double] = []
        let chosen = StrengthSearch.search(scale) { value in
            tried.append(value)
            let failures = (tooWeak(value) ? ["forget_acc"] : []) + (tooStrong(value) ? ["retain_drop"] : [])
            return .init(value: value, metrics: [:], failures: failures,
                         forgetsTooLittle: forgetClause ? tooWeak(value) : !failures.isEmpty)
        }
        return (tried, chosen)
    }

    @Test func aGridValueThatMeetsThePolicyIsRefinedTowardsTheLastFailingOne() {
        // Met for alpha <= 1.5: the grid stops at 1, then geometric means between the failing 2 and
        // the met 1 (until the two are within 5 %): √2 meets, √(2√2) fails, √(√(2√2)·√2) fails, ...
        let (tried, chosen) = Self.search(tooWeak: { $0 > 1.5 }, tooStrong: { _ in false })
        let a = 2.0.squareRoot(), b = (2 * a).squareRoot(), c = (b * a).squareRoot(), d = (c * a).squareRoot()
        #expect(tried == [10, 5, 2, 1, a, b, c, d], "\(tried)")
        #expect(chosen == d)  // d = 1.4768 meets; c = 1.5422 fails; they are within 5 %
    }

    @Test func withNoGridValueMetTheSearchLooksBetweenTooWeakAndTooStrong() {
        // Forget fails above 4.5, retain fails below 4 (the residual CNN of bench/quality): every grid
        // value fails, 5 forgetting too little and 2 too much. Bisection between them: √10 = 3.16 and
        // √(5√10) = 3.98 fail retain, √(5·3.98) = 4.46 meets; then towards 5: 4.72, 4.59 fail forget.
        let (tried, chosen) = Self.search(tooWeak: { $0 > 4.5 }, tooStrong: { $0 < 4 })
        let a = 10.0.squareRoot(), b = (5 * a).squareRoot(), c = (5 * b).squareRoot()
        let d = (5 * c).squareRoot(), e = (d * c).squareRoot()
        #expect(tried == Self.alpha.grid + [a, b, c, d, e], "\(tried)")
        #expect(chosen == c)
        #expect(c >= 4 && c <= 4.5 && e > 4.5)
    }

    @Test func aWindowWithoutAMetValueEndsWithoutAChoice() {
        // No value meets both (forget fails above 4.5, retain below 4.6): the window search stays
        // between 5 and 2 and stops after at most `bisections` trials.
        let (tried, chosen) = Self.search(tooWeak: { $0 > 4.5 }, tooStrong: { $0 < 4.6 })
        #expect(chosen == nil)
        let window = tried.dropFirst(Self.alpha.grid.count)
        #expect(!window.isEmpty && window.count <= StrengthScale.bisections, "\(tried)")
        #expect(window.allSatisfy { $0 > 2 && $0 < 5 }, "\(tried)")
    }

    @Test func withoutAForgetClauseEveryFailureCountsAsTooWeak() {
        // A policy without forget_acc gives the search no direction between failures: the grid only.
        let (tried, chosen) = Self.search(tooWeak: { $0 > 4.5 }, tooStrong: { $0 < 4 }, forgetClause: false)
        #expect(tried == Self.alpha.grid && chosen == nil, "\(tried)")
    }

    @Test func wholeNumbersAreBisectedInWholeNumbers() {
        // ascent's steps: forgets enough from 20 steps, retain fails from 40. The grid meets at 20 and
        // refines between 10 and 20: round(√200) = 14, round(√280) = 17, round(√340) = 18 and
        // round(√360) = 19 all fail; 19 and 20 are adjacent, which ends it.
        let steps = StrengthScale(parameter: "steps", grid: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], integral: true)
        let (tried, chosen) = Self.search(steps, tooWeak: { $0 < 20 }, tooStrong: { $0 >= 40 })
        #expect(tried == [1, 2, 5, 10, 20, 14, 17, 18, 19], "\(tried)")
        #expect(chosen == 20)
        // Retain fails from 19 on: no grid value meets; the window between 10 and 20 holds none either.
        let (narrow, none) = Self.search(steps, tooWeak: { $0 < 20 }, tooStrong: { $0 >= 19 })
        #expect(none == nil && narrow.dropFirst(steps.grid.count).allSatisfy { $0 > 10 && $0 < 20 }, "\(narrow)")
    }
}
