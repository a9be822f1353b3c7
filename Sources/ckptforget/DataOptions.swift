import Engine
import Evaluation
import Foundation

/// The data options shared by `stats`, `eval` and the main command: where the samples are, how to
/// scale them, which of them are to be forgotten, how membership inference scores them, and how a
/// spiking network turns them into spikes.
enum DataOptions {
    static let options: [Arguments.Option] = [
        .value("--data"), .value("--forget-data"), .value("--retain-data"), .value("--test-data"), .value("--forget-ids"),
        .value("--scale"), .value("--mia-feature"), .value("--steps"), .value("--dt"), .value("--reset"), .value("--encoding"),
    ]

    /// The data named by the arguments; `classes` are those of `--class`. With `--encoding spikes`
    /// the HDF5 samples are spike trains shaped `[T, N, ...]`.
    static func selection(_ arguments: Arguments, classes: [Int]) throws -> DataSelection {
        let spikeTrains = try encoding(arguments) == .spikes
        func open(_ option: String) throws -> (any LabeledData)? { try arguments.value(option).map { try DataSource.open($0, spikeTrains: spikeTrains) } }
        return DataSelection(data: try open("--data"), forgetData: try open("--forget-data"), retainData: try open("--retain-data"),
                             testData: try open("--test-data"), classes: classes, forgetIDs: try arguments.value("--forget-ids").map(parseIDs),
                             forgetIDsFile: arguments.value("--forget-ids"), scale: try parseScale(arguments.value("--scale") ?? "1"))
    }

    /// How a spiking model is simulated, when any of `--steps`, `--dt`, `--reset`, `--encoding` is
    /// given (nil otherwise: a NIR model then takes the defaults). With spike trains and no
    /// `--steps`, the steps are the trains' length.
    static func spiking(_ arguments: Arguments, data: DataSelection) throws(UsageError) -> SpikingOptions? {
        guard ["--steps", "--dt", "--reset", "--encoding"].contains(where: { arguments.value($0) != nil }) else { return nil }
        var options = SpikingOptions(encoding: try encoding(arguments))
        if let text = arguments.value("--steps") {
            guard let steps = Int(text), (1...100_000).contains(steps) else { throw .invalid("--steps \(text): expected a number of time steps from 1 to 100000") }
            options.steps = steps
        } else if options.encoding == .spikes,
                  let steps = [data.data, data.forgetData, data.retainData, data.testData].compactMap({ $0?.sampleShape.first }).first {
            options.steps = steps
        }
        if let text = arguments.value("--dt") {
            guard let dt = Double(text), dt.isFinite, dt > 0 else { throw .invalid("--dt \(text): expected a positive time step in seconds") }
            options.dt = dt
        }
        if let text = arguments.value("--reset") {
            guard let reset = SpikingOptions.Reset(rawValue: text) else {
                throw .invalid("--reset \(text): expected \(SpikingOptions.Reset.allCases.map(\.rawValue).joined(separator: " or "))")
            }
            options.reset = reset
        }
        return options
    }

    /// `--encoding rate[:SEED]` (the default, seed 0), `current` or `spikes`.
    static func encoding(_ arguments: Arguments) throws(UsageError) -> SpikingOptions.Encoding {
        let text = arguments.value("--encoding") ?? "rate"
        switch text {
        case "current": return .current
        case "spikes": return .spikes
        case "rate": return .rate(seed: 0)
        default:
            guard text.hasPrefix("rate:"), let seed = UInt64(text.dropFirst(5)) else {
                throw .invalid("--encoding \(text): expected rate, rate:SEED, current or spikes")
            }
            return .rate(seed: seed)
        }
    }

    static func miaFeature(_ arguments: Arguments) throws(UsageError) -> MembershipInference.Feature {
        guard let feature = MembershipInference.Feature(rawValue: arguments.value("--mia-feature") ?? "entropy") else {
            throw .invalid("--mia-feature \(arguments.value("--mia-feature")!): expected entropy or confidence")
        }
        return feature
    }

    /// Sample indices separated by newlines, commas, spaces or tabs.
    static func parseIDs(_ path: String) throws -> Set<Int> {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw UsageError.invalid("--forget-ids \(path): cannot read the file")
        }
        var ids = Set<Int>()
        for token in text.split(whereSeparator: { $0 == "\n" || $0 == "," || $0 == " " || $0 == "\t" || $0 == "\r" }) {
            guard let id = Int(token), id >= 0 else { throw UsageError.invalid("--forget-ids \(path): '\(token)' is not a sample index") }
            ids.insert(id)
        }
        return ids
    }

    /// `1/255`, `0.5`, `2`.
    static func parseScale(_ text: String) throws(UsageError) -> Float {
        let parts = text.split(separator: "/")
        let values = parts.compactMap { Double($0) }
        guard values.count == parts.count, (1...2).contains(values.count), values.allSatisfy({ $0.isFinite }), values.count == 1 || values[1] != 0 else {
            throw .invalid("--scale \(text): expected a number or a fraction such as 1/255")
        }
        return Float(values.count == 2 ? values[0] / values[1] : values[0])
    }
}
