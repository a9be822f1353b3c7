// engine-bench: the engine's Fisher throughput with the data already in memory, as numpy and JAX
// are timed in bench/fisher_bench.py. Not installed; `make bench` builds and runs it.
//
//     engine-bench MODEL.h5 DATA [--scale 1/255] [--runs 5] [--fisher exact|batch:B] [--batch N]
//
// Prints one JSON object: samples, runs, the median (and least) seconds of a pass over all samples,
// samples/s (from the median) and the worker threads.
import Checkpoint
import Engine
import Foundation

func option(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

do {
    let arguments = CommandLine.arguments
    guard arguments.count >= 3 else {
        FileHandle.standardError.write(Data("usage: engine-bench MODEL.h5 DATA [--scale 1/255] [--runs 5] [--fisher exact|batch:B] [--batch N]\n".utf8))
        exit(2)
    }
    let network = try Network(checkpoint: try openCheckpoint(arguments[1]))
    let data = try ArrayData(reading: try DataSource.open(arguments[2]))  // in memory: only the engine is timed
    let scaleParts = option("--scale", "1").split(separator: "/").compactMap { Float($0) }
    let scale = scaleParts.count == 2 ? scaleParts[0] / scaleParts[1] : scaleParts.first ?? 1
    let runs = Int(option("--runs", "5")) ?? 5
    let fisherText = option("--fisher", "exact")
    let mode: FisherMode = fisherText.hasPrefix("batch:") ? .batch(Int(fisherText.dropFirst(6)) ?? 64) : .exact
    let samplesPerBatch = Int(option("--batch", ""))  // default: the engine's own choice
    let runner = try NetworkRunner(network: network, data: data, scale: scale)
    let all = Split(name: "all", indices: Array(0..<data.count))
    var seconds: [Double] = []
    for run in 0...runs {  // run 0 warms up
        let start = DispatchTime.now().uptimeNanoseconds
        _ = try runner.measure(all, fisher: mode, samplesPerBatch: samplesPerBatch)
        if run > 0 { seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
    }
    let median = seconds.sorted()[seconds.count / 2]
    print("{\"samples\": \(data.count), \"runs\": \(runs), \"fisher\": \"\(mode)\", \"median_s\": \(median), \"min_s\": \(seconds.min()!), "
        + "\"samples_per_s\": \(Double(data.count) / median), \"workers\": \(NetworkRunner.workers)}")
} catch {
    FileHandle.standardError.write(Data("engine-bench: \(error)\n".utf8))
    exit(2)
}
