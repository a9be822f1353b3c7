/// A pass one of whose settings can be given as `auto` (`ssd:alpha=auto`, `dampen:auto`,
/// `ascent:steps=auto`): the run searches for the weakest value that meets the `--require` policy
/// (see `StrengthSearch` in the run).
public protocol TunablePass: Pass {
    /// The search asked for, if a setting was given as `auto`.
    var search: StrengthScale? { get }
    /// The pass with the searched setting at `value` (and nothing else changed).
    func with(_ value: Double) throws -> any Pass
}

/// The values a search tries for one setting, from the weakest edit to the strongest: a coarse
/// grid first, then bisection between the last value that fails and the first that meets the policy.
public struct StrengthScale: Sendable {
    /// The setting searched (`alpha`, `steps`), for the records.
    public let parameter: String
    /// Candidates, weakest first.
    public let grid: [Double]
    /// Whether the values are whole numbers (a number of steps).
    public let integral: Bool

    public init(parameter: String, grid: [Double], integral: Bool = false) {
        self.parameter = parameter
        self.grid = grid
        self.integral = integral
    }

    /// Bisection steps at most, after the grid.
    public static let bisections = 6

    /// A value between `weaker` and `stronger`: their geometric mean when both are positive, else
    /// their mean; rounded for whole numbers; nil when the two are within 5 % of each other (or
    /// adjacent whole numbers), which ends the search.
    public func between(_ weaker: Double, _ stronger: Double) -> Double? {
        guard abs(weaker - stronger) > 0.05 * max(abs(weaker), abs(stronger)) else { return nil }
        var middle = weaker > 0 && stronger > 0 ? (weaker * stronger).squareRoot() : (weaker + stronger) / 2
        if integral { middle = middle.rounded() }
        guard middle != weaker, middle != stronger else { return nil }
        return middle
    }
}
