import Foundation

/// A sharded safetensors checkpoint (`model.safetensors.index.json` plus its shards), read and
/// written as one checkpoint: tensor names are global, each shard is rewritten beside a verbatim
/// copy of the index, and the index is committed last.
final class ShardedSafetensorsFile: CheckpointFile, CheckpointBackend {
    static let format = CheckpointFormat(name: "sharded safetensors", outputSuffixes: [".index.json"],
                                         outputHint: "a sharded checkpoint is written as an index and shards; give -o a directory or a *.safetensors.index.json path",
                                         isDirectoryModel: true, nameSeparator: ".")
    static let indexName = "model.safetensors.index.json"

    /// A directory holding `model.safetensors.index.json`, or a `*.index.json` file.
    static func recognizes(_ probe: FileProbe) -> Bool {
        probe.isDirectory ? FileManager.default.fileExists(atPath: (probe.path as NSString).appendingPathComponent(indexName))
            : probe.path.hasSuffix(".index.json")
    }

    static func open(_ probe: FileProbe) throws -> any CheckpointFile {
        try ShardedSafetensorsFile(indexPath: probe.isDirectory ? (probe.path as NSString).appendingPathComponent(indexName) : probe.path)
    }

    let path: String
    var format: CheckpointFormat { Self.format }
    let streamsBytes = true
    let tensors: [TensorInfo]
    let metadata: CheckpointMetadata
    private let shards: [(name: String, file: SafetensorsFile)]
    private let shardOfTensor: [String: Int]

    var files: [String] { [path] + shards.map(\.file.path) }

    init(indexPath: String) throws {
        path = indexPath
        let bytes = try FileBytes(reading: indexPath)
        guard bytes.size <= 100_000_000 else {
            throw CheckpointError.shardIndex(path: indexPath, problem: "\(bytes.size) bytes is too large for a shard index (limit 100,000,000)")
        }
        let json = try bytes.read(count: bytes.size, at: 0)
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw CheckpointError.shardIndex(path: indexPath, problem: "not a JSON object")
        }
        guard let weightMap = object["weight_map"] as? [String: Any], !weightMap.isEmpty else {
            throw CheckpointError.shardIndex(path: indexPath, problem: "no 'weight_map' object mapping tensor names to shard files")
        }
        var expected: [String: [String]] = [:]
        for (tensor, value) in weightMap {
            guard let shard = value as? String else {
                throw CheckpointError.shardIndex(path: indexPath, problem: "weight_map entry '\(tensor)' is not a file name")
            }
            guard !shard.isEmpty, !shard.contains("/"), shard != ".", shard != ".." else {
                throw CheckpointError.shardIndex(path: indexPath, problem: "shard '\(shard)' for '\(tensor)' must be a plain file name beside the index")
            }
            expected[shard, default: []].append(tensor)
        }
        let directory = (indexPath as NSString).deletingLastPathComponent
        var shards: [(String, SafetensorsFile)] = []
        var shardOfTensor: [String: Int] = [:]
        var tensors: [TensorInfo] = []
        for shardName in expected.keys.sorted() {
            let file = try SafetensorsFile(path: (directory.isEmpty ? shardName : "\(directory)/\(shardName)"))
            let present = Set(file.tensors.map(\.name))
            if let missing = expected[shardName]!.sorted().first(where: { !present.contains($0) }) {
                throw CheckpointError.shardIndex(path: indexPath, problem: "weight_map puts '\(missing)' in \(shardName), which does not hold it")
            }
            for info in file.tensors {
                guard shardOfTensor[info.name] == nil else {
                    throw CheckpointError.shardIndex(path: indexPath, problem: "tensor '\(info.name)' is stored in more than one shard")
                }
                shardOfTensor[info.name] = shards.count
                tensors.append(info)
            }
            shards.append((shardName, file))
        }
        self.shards = shards
        self.shardOfTensor = shardOfTensor
        self.tensors = tensors
        var metadata = CheckpointMetadata()
        metadata.stringMetadata = shards.first?.1.metadata.stringMetadata ?? [:]
        self.metadata = metadata
    }

    func read(_ info: TensorInfo) throws -> Tensor {
        guard let shard = shardOfTensor[info.name] else {
            throw CheckpointError.unsupported(path: path, tensor: info.name, reason: "no such tensor")
        }
        return try shards[shard].file.read(info)
    }

    /// `destination` is the output index path; shards go beside it under their own names.
    func outputFiles(for destination: String) -> [String] {
        let directory = (destination as NSString).deletingLastPathComponent
        return shards.map { directory.isEmpty ? $0.name : "\(directory)/\($0.name)" } + [destination]
    }

    func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                 progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws {
        let targets = outputFiles(for: destination)
        for (shard, target) in zip(shards, targets) {
            try shard.file.rewrite(to: target, in: output, plan: plan, progress: progress, edit: edit)
        }
        let source = try FileBytes(reading: path)
        source.observer = plan.inputSinks[path]
        let index = try FileBytes(creating: output.temporaryPath(for: destination))
        index.observer = plan.outputSinks[destination]
        try index.append(from: source, offset: 0, count: source.size)
    }
}
