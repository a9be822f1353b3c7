import Checkpoint
import Manifest

/// The SHA-256 of every file a run reads and writes, for its records. Where the backend streams a
/// file's bytes, they are hashed as they pass; the other files are read again on background threads
/// (libhdf5 reads its input itself; `--pre`, statistics and data are read elsewhere).
final class RunDigests {
    let inputSinks: [String: any ByteSink]
    let outputSinks: [String: any ByteSink]
    private let streamedInputs: [String: StreamingDigest]
    private let streamedOutputs: [String: StreamingDigest]
    private let background: BackgroundDigests

    init(inputs: [String], checkpoint: any CheckpointFile, destination: String) {
        streamedInputs = checkpoint.streamsBytes ? Dictionary(checkpoint.files.map { ($0, StreamingDigest()) }, uniquingKeysWith: { a, _ in a }) : [:]
        streamedOutputs = checkpoint.streamsOutputBytes
            ? Dictionary(checkpoint.outputFiles(for: destination).map { ($0, StreamingDigest()) }, uniquingKeysWith: { a, _ in a }) : [:]
        inputSinks = streamedInputs
        outputSinks = streamedOutputs
        let streamed = Set(streamedInputs.keys)
        // A file up to twice the checkpoint's size is hashed in less time than the rewrite takes
        // (0.6 s a GiB here, against 1 to 2.5 s a GiB of checkpoint), so it can wait for the
        // rewrite's gaps; a larger one (statistics with several diagonals) cannot.
        background = BackgroundDigests(inputs.filter { !streamed.contains($0) }, idleUpTo: 2, timesTheSizeOf: checkpoint.files)
    }

    /// Digests of every input (by path) and every output (by final path); `written` are the output
    /// files, whose temporary copies are hashed where they were not streamed.
    func finish(written: [(temporary: String, final: String)]) throws -> (inputs: [String: [UInt8]], outputs: [String: [UInt8]]) {
        let inputs = try background.wait().merging(try streamedInputs.mapValues { try $0.finish() }) { a, _ in a }
        let unstreamed = try BackgroundDigests(written.filter { streamedOutputs[$0.final] == nil }.map(\.temporary)).wait()
        var outputs: [String: [UInt8]] = [:]
        for file in written { outputs[file.final] = try streamedOutputs[file.final]?.finish() ?? unstreamed[file.temporary] }
        return (inputs, outputs)
    }

    /// Stops the hashing threads before an error ends the process: exiting under a thread that
    /// is inside libcrypto can crash in OpenSSL's exit-time cleanup.
    func cancel() {
        background.cancel()
        for sink in Array(streamedInputs.values) + Array(streamedOutputs.values) { sink.cancel() }
    }
}
