// engine-bench: the engine's Fisher throughput with the data already in memory, as numpy and JAX
// are timed in bench/fisher_bench.py; with --spiking, the spiking simulator's throughput on spike
// trains in memory, as snnTorch and numpy are timed in bench/spiking/speed.py. Not installed;
// `make bench` builds and runs it.
//
//     engine-bench MODEL.h5 DATA [--scale 1/255] [--runs 5] [--fisher exact|batch:B|none] [--batch N] [--outputs FILE]
//     engine-bench --spiking MODEL.nir SPIKES.h5:X,Y [--runs 5] [--reset subtract-delayed|nir]
//
// Prints one JSON object: samples, runs, the median (and least) seconds of a pass over all samples,
// the median CPU seconds of a pass (all threads; not with --spiking), samples/s (from the median)
// and the worker threads; with --spiking also the neuron updates per second (spiking neurons ×
// steps × samples, from the median). `--fisher none` times the same pass with no Fisher: the
// forward pass and the outputs only. `--outputs FILE` writes the last pass's outputs
// (probabilities, samples × classes) to FILE as raw little-endian float32.
import Checkpoint
import Engine
import Foundation

func option(_ name: String, _ fallback: String) -> String {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return fallback }
    return arguments[index + 1]
}

/// `--runs N` (default 5): at least one timed run, or the tool stops with a usage message.
func timedRuns() -> Int {
    guard let runs = Int(option("--runs", "5")), runs >= 1 else {
        FileHandle.standardError.write(Data("engine-bench: --runs takes a whole number of at least 1\n".utf8))
        exit(2)
    }
    return runs
}

/// CPU seconds used so far by every thread of this process.
func processCPUSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
}

/// Times `body` `runs` times after one warm-up run: the median and least seconds, and the median
/// CPU seconds (all threads).
func time(runs: Int, _ body: () throws -> Void) rethrows -> (median: Double, least: Double, cpu: Double) {
    var seconds: [Double] = [], cpuSeconds: [Double] = []
    for run in 0...runs {
        let (start, cpu) = (DispatchTime.now().uptimeNanoseconds, processCPUSeconds())
        try body()
        if run > 0 {
            seconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            cpuSeconds.append(processCPUSeconds() - cpu)
        }
    }
    return (seconds.sorted()[seconds.count / 2], seconds.min()!, cpuSeconds.sorted()[cpuSeconds.count / 2])
}

/// The spiking simulator on spike trains held in memory (as bytes when the file stores them as
/// bytes, as `ckptforget` reads them): every sample, fixed batches on all cores.
func spikingBench(_ arguments: [String]) throws {
    let model = try openCheckpoint(arguments[0])
    let source = try DataSource.open(arguments[1], spikeTrains: true)
    let data: any LabeledData
    if let bytes = source as? any ByteData, bytes.holdsBytes {
        data = try ByteArrayData(reading: bytes)
    } else {
        data = try ArrayData(reading: source)
    }
    let runs = timedRuns()
    let reset = SpikingOptions.Reset(rawValue: option("--reset", "subtract-delayed")) ?? .subtractDelayed
    let options = SpikingOptions(steps: data.sampleShape[0], reset: reset, encoding: .spikes)
    let network = try SpikingNetwork(checkpoint: model)
    let spiking = SpikingModel(network: network, options: options)
    let part = DataPart(data: data, split: Split(name: "all", indices: Array(0..<data.count)), scale: 1)
    let runner = try SpikingRunner(model: spiking, part: part)
    let (median, least, _) = try time(runs: runs) { _ = try runner.measure(keepScores: true, record: false) }
    let neurons = network.spikingNodes.reduce(0) { $0 + $1.shape.reduce(1, *) }
    let updates = Double(neurons * options.steps * data.count)
    print("{\"samples\": \(data.count), \"runs\": \(runs), \"steps\": \(options.steps), \"neurons\": \(neurons), \"median_s\": \(median), "
        + "\"min_s\": \(least), \"samples_per_s\": \(Double(data.count) / median), \"neuron_updates_per_s\": \(updates / median), "
        + "\"workers\": \(NetworkRunner.workers)}")
}

do {
    let arguments = CommandLine.arguments
    if arguments.count >= 4, arguments[1] == "--spiking" {
        try spikingBench(Array(arguments.dropFirst(2)))
        exit(0)
    }
    guard arguments.count >= 3 else {
        FileHandle.standardError.write(Data("usage: engine-bench MODEL.h5 DATA [--scale 1/255] [--runs 5] [--fisher exact|batch:B|none] [--batch N] [--outputs FILE]\n".utf8))
        exit(2)
    }
    let network = try Network(checkpoint: try openCheckpoint(arguments[1]))
    // In memory, so that only the engine is timed; as bytes when the file stores bytes, which the
    // engine picks and widens batch by batch as `ckptforget` does.
    let source = try DataSource.open(arguments[2])
    let data: any LabeledData = if let bytes = source as? any ByteData, bytes.holdsBytes {
        try ByteArrayData(reading: bytes)
    } else {
        try ArrayData(reading: source)
    }
    let scaleParts = option("--scale", "1").split(separator: "/").compactMap { Float($0) }
    let scale = scaleParts.count == 2 ? scaleParts[0] / scaleParts[1] : scaleParts.first ?? 1
    let runs = timedRuns()
    let fisherText = option("--fisher", "exact")
    // none: the same pass with no Fisher, keeping the outputs (the forward pass as `eval` runs it).
    let mode: FisherMode? = fisherText == "none" ? nil : fisherText.hasPrefix("batch:") ? .batch(Int(fisherText.dropFirst(6)) ?? 64) : .exact
    let samplesPerBatch = Int(option("--batch", ""))  // default: the engine's own choice
    let runner = try NetworkRunner(network: network, data: data, scale: scale)
    let all = Split(name: "all", indices: Array(0..<data.count))
    let outputsPath = option("--outputs", "")
    var outputs: [Float] = []
    let (median, least, cpu) = try time(runs: runs) {
        outputs = try runner.measure(all, fisher: mode, outputs: mode == nil || !outputsPath.isEmpty, samplesPerBatch: samplesPerBatch).outputs
    }
    if !outputsPath.isEmpty {
        try outputs.withUnsafeBytes { Data($0) }.write(to: URL(fileURLWithPath: outputsPath))
    }
    print("{\"samples\": \(data.count), \"runs\": \(runs), \"fisher\": \"\(mode.map { "\($0)" } ?? "none")\", \"median_s\": \(median), "
        + "\"min_s\": \(least), \"cpu_s\": \(cpu), \"samples_per_s\": \(Double(data.count) / median), "
        + "\"workers\": \(NetworkRunner.workers)}")
} catch {
    FileHandle.standardError.write(Data("engine-bench: \(error)\n".utf8))
    exit(2)
}
