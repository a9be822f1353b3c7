import Checkpoint
import Forgetting
import Foundation

/// A run with its records: the input files are hashed on background threads while the checkpoint
/// is rewritten, the input's own attestation (if any) is checked against them, the outputs are
/// hashed, and the records are written into the same transaction as the output, so all of them
/// appear together or not at all.
public enum RecordedRun {
    /// What the records step did, for the summary.
    public struct Outcome: Sendable {
        public let signature: String?
        public let manifest: String?
        public let signedWith: KeyAlgorithm?
        public let parent: String?
    }

    /// - Parameters:
    ///   - inputs: every file read, by role (`checkpoint`, `pre`, `statistics`).
    ///   - records: where and how to write the records; nil writes none (`--no-sign`).
    ///   - parentPath: `--parent`; else the input's `MODEL.manifest.json` is looked for.
    ///   - check: called with the written (not yet committed) output file before anything is
    ///     published; it may throw to stop the run (a `--require` not met), and what it returns is
    ///     the attestation's `evaluation`.
    public static func run(_ plan: ForgettingPlan, on checkpoint: any CheckpointFile, to destination: String,
                           inputs: [(role: String, files: [String])], records: RecordWriter?, parentPath: String?,
                           check: ((String) throws -> JSONValue?)? = nil,
                           progress: @escaping RewriteProgress) throws -> (RunReport, Outcome) {
        let inputModel = checkpoint.format == .shardedSafetensors ? (checkpoint.path as NSString).deletingLastPathComponent : checkpoint.path
        let parent = try records == nil ? nil : ParentRecord.find(for: inputModel, explicit: parentPath)
        // Where the backend streams its bytes, hash them as they pass; read the other files again
        // on background threads (libhdf5 does its own I/O; --pre and --stats are read elsewhere).
        let streamed = records != nil && checkpoint.streamsBytes
        let inputSinks = streamed ? Dictionary(uniqueKeysWithValues: checkpoint.files.map { ($0, StreamingDigest()) }) : [:]
        let outputSinks = streamed ? Dictionary(uniqueKeysWithValues: checkpoint.outputFiles(for: destination).map { ($0, StreamingDigest()) }) : [:]
        let hashing = records == nil ? nil : BackgroundDigests(inputs.flatMap(\.files).filter { inputSinks[$0] == nil })

        let transaction = OutputTransaction()
        do {
            let report = try ForgettingPipeline.run(plan, on: checkpoint, to: destination, in: transaction,
                                                    inputSinks: inputSinks, outputSinks: outputSinks, progress: progress)
            var outcome = Outcome(signature: nil, manifest: nil, signedWith: nil, parent: nil)
            let written = transaction.files
            let evaluation = try check?(written.first { $0.final == destination }?.temporary ?? destination)
            if let records, let hashing {
                let inputDigests = try hashing.wait().merging(inputSinks.mapValues { $0.finish() }) { a, _ in a }
                try parent?.check(inputFiles: inputDigests.filter { checkpoint.files.contains($0.key) })
                let unstreamed = try BackgroundDigests(written.filter { outputSinks[$0.final] == nil }.map(\.temporary)).wait()
                let outputs = Dictionary(uniqueKeysWithValues: written.map { ($0.final, outputSinks[$0.final]?.finish() ?? unstreamed[$0.temporary]!) })
                let described = inputs.flatMap { role, files in
                    files.map { ForgettingAttestation.Input(role: role, path: $0, sha256: inputDigests[$0]!.hex) }
                }
                try records.write(report: report, outputs: outputs, inputs: described, parent: parent, evaluation: evaluation, into: transaction)
                outcome = Outcome(signature: records.signaturePath, manifest: records.manifestPath,
                                  signedWith: records.key?.algorithm, parent: parent?.path)
            }
            try transaction.commit()
            return (report, outcome)
        } catch {
            transaction.abort()
            // Let the hashing threads finish before the error ends the process: exiting under a
            // thread that is inside libcrypto can crash in OpenSSL's exit-time cleanup.
            _ = try? hashing?.wait()
            for sink in Array(inputSinks.values) + Array(outputSinks.values) { _ = sink.finish() }
            throw error
        }
    }
}
