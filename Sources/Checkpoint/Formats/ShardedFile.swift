import Foundation

/// How one kind of sharded checkpoint is laid out: its format, its index's usual name, and how a
/// shard is read from the file `ShardedFile` opened (a regular file, checked).
struct ShardKind: Sendable {
    let format: CheckpointFormat
    /// The index's name in a model directory (`model.safetensors.index.json`).
    let indexName: String
    let openShard: @Sendable (FileBytes) throws -> any CheckpointFile
}

/// Sharded safetensors (`model.safetensors.index.json` and `model-0000k-of-0000n.safetensors`).
enum ShardedSafetensorsFormat: CheckpointBackend {
    static let kind = ShardKind(format: CheckpointFormat(name: "sharded safetensors", outputSuffixes: [".index.json"],
                                                         outputHint: "a sharded checkpoint is written as an index and shards; give -o a directory or a *.safetensors.index.json path",
                                                         isDirectoryModel: true, nameSeparator: "."),
                                indexName: "model.safetensors.index.json", openShard: { try SafetensorsFile(file: $0) })
    static var format: CheckpointFormat { kind.format }

    /// A directory holding `model.safetensors.index.json`, or a `*.index.json` file other than a `*.bin.index.json`.
    static func recognizes(_ probe: FileProbe) -> Bool {
        probe.isDirectory ? FileManager.default.fileExists(atPath: (probe.path as NSString).appendingPathComponent(kind.indexName))
            : probe.path.hasSuffix(".index.json") && !probe.path.hasSuffix(".bin.index.json")
    }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile { try ShardedFile(probe: probe, kind: kind) }
}

/// Sharded PyTorch state dicts (`pytorch_model.bin.index.json` and `pytorch_model-0000k-of-0000n.bin`),
/// the same index as safetensors' with `torch.save` shards.
enum ShardedTorchFormat: CheckpointBackend {
    static let kind = ShardKind(format: CheckpointFormat(name: "sharded PyTorch", outputSuffixes: [".bin.index.json"],
                                                         outputHint: "a sharded checkpoint is written as an index and shards; give -o a directory or a *.bin.index.json path",
                                                         isDirectoryModel: true, nameSeparator: "."),
                                indexName: "pytorch_model.bin.index.json", openShard: { try TorchFile(file: $0) })
    static var format: CheckpointFormat { kind.format }

    /// A directory holding `pytorch_model.bin.index.json`, or a `*.bin.index.json` file.
    static func recognizes(_ probe: FileProbe) -> Bool {
        probe.isDirectory ? FileManager.default.fileExists(atPath: (probe.path as NSString).appendingPathComponent(kind.indexName))
            : probe.path.hasSuffix(".bin.index.json")
    }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile { try ShardedFile(probe: probe, kind: kind) }
}

/// A sharded checkpoint (an index and its shards), read and written as one checkpoint: tensor
/// names are global, each shard is rewritten beside a verbatim copy of the index, and the index is
/// committed last. The folder's other files (a Hugging Face `config.json`, tokenizer and
/// generation configs) are carried into the output folder byte for byte, so that the output loads
/// where the input did; weights in other formats are not (they hold the unedited values), nor
/// hidden files or ckptforget's own records.
final class ShardedFile: CheckpointFile {
    let path: String
    let format: CheckpointFormat
    let streamsBytes = true
    let tensors: [TensorInfo]
    let metadata: CheckpointMetadata
    private let shards: [(name: String, file: any CheckpointFile)]
    private let shardOfTensor: [String: Int]
    /// The folder's other files, carried over (names beside the index).
    private let companions: [String]
    let leftOut: [String]

    /// Extensions of files that hold weights: another format's copy of the same model.
    static let weightExtensions: Set<String> = ["safetensors", "bin", "pt", "pth", "ckpt", "h5", "hdf5", "keras", "msgpack", "onnx",
                                                "gguf", "ggml", "pkl", "pickle", "npz", "npy", "tflite", "pb", "ot", "nemo", "joblib"]

    private var directory: String { (path as NSString).deletingLastPathComponent }
    private func beside(_ directory: String, _ name: String) -> String { directory.isEmpty ? name : "\(directory)/\(name)" }

    var files: [String] { [path] + shards.map(\.file.path) + companions.map { beside(directory, $0) } }

    convenience init(probe: FileProbe, kind: ShardKind) throws {
        try self.init(indexPath: probe.isDirectory ? (probe.path as NSString).appendingPathComponent(kind.indexName) : probe.path, kind: kind)
    }

    init(indexPath: String, kind: ShardKind) throws {
        path = indexPath
        format = kind.format
        let bytes = try FileBytes(reading: indexPath)
        guard bytes.size <= ShardIndex.maximumSize else {
            throw CheckpointError.shardIndex(path: indexPath, problem: .tooLarge(bytes: bytes.size))
        }
        let expected = try ShardIndex(json: try bytes.read(count: bytes.size, at: 0), path: indexPath).tensorsByShard
        let directory = (indexPath as NSString).deletingLastPathComponent
        var shards: [(String, any CheckpointFile)] = []
        var shardOfTensor: [String: Int] = [:]
        /// Each tensor's name as its shard spells it (a String key matches any canonically equivalent spelling).
        var spelling: [String: String] = [:]
        var tensors: [TensorInfo] = []
        for shardName in expected.keys.sorted() {
            let file = try kind.openShard(try Self.openShard(shardName, for: expected[shardName]!, in: directory, index: indexPath))
            // Names as bytes: weight_map's spelling must be the shard's, as it is for the loaders.
            let present = Set(file.tensors.map { Array($0.name.utf8) })
            if let missing = expected[shardName]!.sorted().first(where: { !present.contains(Array($0.utf8)) }) {
                throw CheckpointError.shardIndex(path: indexPath, problem: .tensorNotInShard(tensor: missing, shard: shardName))
            }
            for info in file.tensors {
                if let other = spelling[info.name] {
                    guard other.isExactly(info.name) else { throw CheckpointError.ambiguousNames(path: indexPath, first: other, second: info.name) }
                    throw CheckpointError.shardIndex(path: indexPath, problem: .tensorInSeveralShards(tensor: info.name))
                }
                spelling[info.name] = info.name
                shardOfTensor[info.name] = shards.count
                tensors.append(info)
            }
            shards.append((shardName, file))
        }
        self.shards = shards
        self.shardOfTensor = shardOfTensor
        let taken = Set(shards.map(\.0) + [(indexPath as NSString).lastPathComponent])
        var companions: [String] = [], leftOut: [String] = []
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: directory.isEmpty ? "." : directory)) ?? []).sorted()
        where !taken.contains(name) && !name.hasPrefix(".") && !name.hasSuffix(".sig") && !name.hasSuffix(".manifest.json") {
            let full = directory.isEmpty ? name : "\(directory)/\(name)"
            guard (try? FileManager.default.attributesOfItem(atPath: full))?[.type] as? FileAttributeType == .typeRegular else { continue }
            if Self.weightExtensions.contains((name as NSString).pathExtension.lowercased()) { leftOut.append(full) } else { companions.append(name) }
        }
        self.companions = companions
        self.leftOut = leftOut
        self.tensors = tensors
        var metadata = CheckpointMetadata()
        metadata.stringMetadata = shards.first?.1.metadata.stringMetadata ?? [:]
        metadata.optimizerGroups = Array(Set(shards.flatMap(\.1.metadata.optimizerGroups))).sorted()
        metadata.classLabels = HuggingFaceConfig.classLabels(besides: (path as NSString).deletingLastPathComponent)
        self.metadata = metadata
    }

    /// The shard's file, opened only if it is a regular file (a FIFO would block the run, a device
    /// has no end); otherwise the index is blamed, naming the shard and a tensor it should hold.
    private static func openShard(_ name: String, for tensors: [String], in directory: String, index: String) throws -> FileBytes {
        do {
            return try FileBytes(reading: directory.isEmpty ? name : "\(directory)/\(name)")
        } catch CheckpointError.notRegularFile(_, let kind) {
            throw CheckpointError.shardIndex(path: index, problem: .shardNotRegularFile(shard: name, kind: kind, tensor: tensors.min() ?? ""))
        }
    }

    /// The shards' own estimates, then the carried files and the index as they are.
    var outputSizes: [Int] {
        shards.flatMap(\.file.outputSizes) + (companions.map { beside(directory, $0) } + [path]).map {
            (try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? 0
        }
    }

    func read(_ info: TensorInfo) throws -> Tensor {
        guard let shard = shardOfTensor[info.name] else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "no such tensor")
        }
        return try shards[shard].file.read(info)
    }

    var readsSlices: Bool { shards.allSatisfy { $0.file.readsSlices } }

    func read(_ info: TensorInfo, elements: Range<Int>) throws -> TensorValues {
        guard let shard = shardOfTensor[info.name] else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "no such tensor")
        }
        return try shards[shard].file.read(info, elements: elements)
    }

    /// `destination` is the output index path; shards and the carried files go beside it under
    /// their own names, the index last.
    func outputFiles(for destination: String) -> [String] {
        let target = (destination as NSString).deletingLastPathComponent
        return (shards.map(\.name) + companions).map { beside(target, $0) } + [destination]
    }

    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws {
        let targets = outputFiles(for: destination)
        for (shard, target) in zip(shards, targets) {
            try shard.file.rewrite(to: target, in: output, plan: plan, progress: progress, edit: edit)
        }
        let target = (destination as NSString).deletingLastPathComponent
        for name in companions { try copy(beside(directory, name), to: beside(target, name), in: output, plan: plan) }
        try copy(path, to: destination, in: output, plan: plan)
    }

    /// A verbatim copy, its bytes shown to the plan's sinks.
    private func copy(_ source: String, to destination: String, in output: OutputTransaction, plan: RewritePlan) throws {
        let input = try FileBytes(reading: source)
        input.observer = plan.inputSinks[source]
        let copy = try FileBytes(creating: output.temporaryFile(for: destination), direct: true)
        copy.observer = plan.outputSinks[destination]
        try copy.append(from: input, offset: 0, count: input.size)
        try copy.finishWrites()
    }
}
