import Foundation

/// A Keras 3 `.keras` archive: a zip of `metadata.json`, `config.json` (the model config, the same
/// JSON legacy `.h5` files keep in `model_config`) and `model.weights.h5` (a Keras 3 `.weights.h5`,
/// `layers/<group>/vars/<i>`), with maybe `assets/` members. The weights are read by the HDF5
/// backend in place, through a driver that reads the stored member's bytes at their offset
/// (`HDF5ByteRange`): nothing is extracted. Its CRC is checked before it is opened.
///
/// A rewrite writes a new archive in the original member order: the other members byte for byte,
/// `model.weights.h5` rewritten by `HDF5Rewriter` straight into its place in the new archive; every
/// member stored, dated 1980-01-01, with its CRC.
final class KerasArchiveFile: CheckpointFile, CheckpointBackend {
    static let format = CheckpointFormat(name: "Keras archive", outputSuffixes: [".keras"],
                                         outputHint: "give it a .keras name (Keras loads archives only by that suffix)",
                                         nameSeparator: "/", mayHoldKerasOptimizerState: true)
    static let weightsName = "model.weights.h5"
    static let configName = "config.json"
    static let metadataName = "metadata.json"
    /// `config.json` and `metadata.json` may take this much: real configs are a few hundred KiB at
    /// most, and a config is read whole into a tree.
    static let maximumConfig = 4 << 20

    /// A zip with `model.weights.h5` or `config.json` at its top level.
    static func recognizes(_ probe: FileProbe) -> Bool {
        probe.zip?.entries.contains { $0.name == weightsName || $0.name == configName } ?? false
    }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile { try KerasArchiveFile(path: probe.path, archive: probe.zip!) }

    let path: String
    var format: CheckpointFormat { Self.format }
    let archive: ZipArchive
    let weightsEntry: ZipEntry
    /// The weights member, opened through its byte range.
    let weights: HDF5File
    let metadata: CheckpointMetadata
    var tensors: [TensorInfo] { weights.tensors }

    init(path: String, archive: ZipArchive) throws {
        self.path = path
        self.archive = archive
        guard let entry = archive.entry(named: Self.weightsName) else {
            throw CheckpointError.keras(path: path, .missingMember(Self.weightsName, found: archive.entries.map(\.name)))
        }
        if let nested = archive.entries.first(where: { $0.name.hasSuffix("/" + Self.weightsName) || $0.name.hasSuffix("/" + Self.configName) }) {
            throw CheckpointError.keras(path: path, .nested(nested.name))
        }
        guard entry.isStored else { throw CheckpointError.keras(path: path, .weightsCompressed) }
        weightsEntry = entry
        // Read once, by the strict reader: the layouts and the engine get the tree, never the text.
        var config: JSONValue?
        if let configEntry = archive.entry(named: Self.configName) {
            guard configEntry.size <= Self.maximumConfig else {
                throw CheckpointError.keras(path: path, .configTooLarge(size: configEntry.size, limit: Self.maximumConfig))
            }
            let parsed: JSONValue
            do {
                parsed = try JSONValue(strict: try archive.contents(of: configEntry, limit: Self.maximumConfig))
            } catch let error as StrictJSONError {
                throw CheckpointError.keras(path: path, .badConfig(reason: "\(error)"))
            }
            guard parsed.members != nil else { throw CheckpointError.keras(path: path, .badConfig(reason: "not a JSON object")) }
            config = parsed
        }
        try archive.checkCRC(entry)  // before libhdf5 reads any of it
        weights = try HDF5File(path: "\(path): \(Self.weightsName)", range: HDF5ByteRange(reading: archive.file.fd, base: entry.dataOffset, length: entry.size))
        var metadata = weights.metadata
        metadata.modelConfig = config
        // Informative only (Keras never reads it on load): a version that cannot be read is left unknown.
        if let entry = archive.entry(named: Self.metadataName), entry.size <= Self.maximumConfig,
           let bytes = try? archive.contents(of: entry, limit: Self.maximumConfig) {
            metadata.kerasVersion = (try? JSONValue(strict: bytes))?["keras_version"]?.string
        }
        self.metadata = metadata
    }

    /// Every member is written stored: a deflated one takes its inflated size.
    var outputSizes: [Int] { [archive.storedCopySize(alignment: 1)] }

    func read(_ info: TensorInfo) throws -> Tensor { try weights.read(info) }
    var readsSlices: Bool { weights.readsSlices }
    func read(_ info: TensorInfo, elements: Range<Int>) throws -> TensorValues { try weights.read(info, elements: elements) }

    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws {
        let out = try FileBytes(creating: output.temporaryFile(for: destination))
        let writer = ZipWriter(out: out)
        for entry in archive.entries {
            if entry.name == Self.weightsName {
                let pending = try writer.begin(entry.name)
                let range = HDF5ByteRange(writing: out.fd, base: pending.dataOffset)
                try withoutActuallyEscaping(progress) { progress in
                    try withoutActuallyEscaping(edit) { edit in
                        try HDF5Rewriter(source: weights, plan: plan, progress: progress, edit: edit).write(member: "\(destination): \(entry.name)", range: range)
                    }
                }
                guard range.closed else {
                    throw CheckpointError.writeFailed(path: destination, reason: "libhdf5 did not close \(entry.name)")
                }
                try writer.finish(pending, size: range.length, crc: try ParallelCRC.of(out, count: range.length, at: pending.dataOffset))
            } else {
                try writer.add(entry.name, size: entry.size, crc: entry.crc32) {
                    try archive.stream(entry) { try out.write($0) }
                }
            }
        }
        try writer.close()
        try out.truncate(at: out.position)
    }
}
