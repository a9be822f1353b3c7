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
        // Forget fails above 4.5, retain fails below 4 (the residual CNN of bench/quality): no grid
        // value meets it; 5 forgets too little and 2 fails retain. Bisection between them, before the
        // grid goes on: √10 = 3.16 and √(5√10) = 3.98 fail retain, √(5·3.98) = 4.46 meets; then
        // towards 5: 4.72 and 4.59 fail forget.
        let (tried, chosen) = Self.search(tooWeak: { $0 > 4.5 }, tooStrong: { $0 < 4 })
        let a = 10.0.squareRoot(), b = (5 * a).squareRoot(), c = (5 * b).squareRoot()
        let d = (5 * c).squareRoot(), e = (d * c).squareRoot()
        #expect(tried == [10, 5, 2, a, b, c, d, e], "\(tried)")
        #expect(chosen == c)
        #expect(c >= 4 && c <= 4.5 && e > 4.5)
    }

    @Test func whenNothingBetweenMeetsThePolicyTheGridGoesOn() {
        // No value between 5 and 2 meets both (forget fails above 4.5, retain below 4.6): the search
        // there stays inside and ends after at most `bisections` trials; the rest of the grid follows.
        let (tried, chosen) = Self.search(tooWeak: { $0 > 4.5 }, tooStrong: { $0 < 4.6 })
        #expect(chosen == nil)
        let window = tried.dropFirst(3).dropLast(7)
        #expect(Array(tried.prefix(3)) == [10, 5, 2] && Array(tried.suffix(7)) == Array(Self.alpha.grid.suffix(7)), "\(tried)")
        #expect(!window.isEmpty && window.count <= StrengthScale.bisections && window.allSatisfy { $0 > 2 && $0 < 5 }, "\(tried)")

        // And a later grid value that meets it is refined as usual (retain fails only in 0.8 < alpha < 4.6):
        // 0.5 meets; √0.5 = 0.707 meets, √(1·0.707) = 0.841 fails, √(0.841·0.707) = 0.771 meets,
        // √(0.841·0.771) = 0.805 fails, and 0.805 and 0.771 are within 5 %.
        let (later, found) = Self.search(tooWeak: { $0 > 4.5 }, tooStrong: { $0 < 4.6 && $0 > 0.8 })
        let a = 0.5.squareRoot(), b = a.squareRoot(), c = (b * a).squareRoot(), d = (b * c).squareRoot()
        #expect(Array(later.dropLast(6)) == Array(tried.dropLast(7)), "\(later)")  // the grid to 2 and the search between
        #expect(Array(later.suffix(6)) == [1, 0.5, a, b, c, d] && found == c, "\(later)")
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
        // Retain fails from 19 on: no grid value meets; 10 and 20 hold none between them either
        // (14, 17, 18 and 19 all forget too little; 19 and 20 are adjacent), and the grid goes on.
        let (narrow, none) = Self.search(steps, tooWeak: { $0 < 20 }, tooStrong: { $0 >= 19 })
        #expect(none == nil && narrow == [1, 2, 5, 10, 20, 14, 17, 18, 19, 50, 100, 200, 500, 1000], "\(narrow)")
    }
}
