import Checkpoint
import Engine
import Foundation
import Manifest

/// `ckptforget stats MODEL --data D (--class C | --forget-ids F) [--fisher exact|batch:B] -o STATS.h5`:
/// Fisher diagonals of the model's loss on the forget, retain and full splits, and activity, in the
/// statistics-file schema, for `--stats` to reuse without the data.
enum StatsCommand: Subcommand {
    static var help: String { Help.stats }
    static let options: [Arguments.Option] = DataOptions.options + [
        .value("--class", "-c", repeatable: true), .value("--fisher"), .value("--output", "-o"), .flag("--quiet", "-q"),
    ]

    static func run(_ arguments: Arguments) throws -> ExitCode {
        guard arguments.operands.count == 1, let output = arguments.value("--output") else {
            throw UsageError.invalid("usage: ckptforget stats MODEL --data D --class C -o STATS.h5")
        }
        let mode = try SharedOptions.fisherMode(arguments.value("--fisher") ?? "exact")
        let checkpoint = try openCheckpoint(arguments.operands[0])
        let data = try DataOptions.selection(arguments, classes: try SharedOptions.classes(arguments.all("--class")))
        let network = try ClassifierModels.open(checkpoint, spiking: try DataOptions.spiking(arguments, data: data))
        let spiking = network is SpikingModel
        if spiking, arguments.value("--fisher") != nil { throw UsageError.invalid("--fisher: a spiking network has no Fisher diagonals here (the engine computes no gradient of one)") }
        let splits = try data.splits(network: network)
        try OutputPath.checkDistinct(outputs: [output], inputs: checkpoint.files + data.files)

        let statistics = try MeasuredStatistics.measure(network, on: splits, fisher: spiking ? nil : mode, activity: true, logits: !spiking)
        var provenance = ["model": (checkpoint.path as NSString).lastPathComponent,
                          "model_sha256": try SHA256.digest(ofFile: checkpoint.path).hex]
        for (index, file) in data.files.enumerated() { provenance["data\(index)_sha256"] = "\(file) \(try SHA256.digest(ofFile: file).hex)" }
        let transaction = OutputTransaction()
        do {
            try StatisticsFileWriter.write(statistics, provenance: provenance, to: output, in: transaction)
            try transaction.commit()
        } catch {
            transaction.abort()
            throw error
        }
        if !arguments.has("--quiet") {
            let sizes = splits.sizes
            let what = if let spikes = statistics.spikes {
                "spike counts of \(English.count(spikes.nodes.count, "spiking node")) (\(spikes.simulation))"
            } else {
                "Fisher \(mode) for \(statistics.parameters.count) tensors"
            }
            Console.error("\(output): \(what) on forget (\(sizes[.forget]!) samples), retain (\(sizes[.retain]!)), full (\(sizes[.full]!))")
        }
        return .success
    }
}
