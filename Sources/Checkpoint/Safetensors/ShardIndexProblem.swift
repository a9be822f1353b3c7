/// One case per rule a shard index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`)
/// and its shards must satisfy.
/// `CheckpointError.shardIndex` puts the index's path in front of the message.
public enum ShardIndexProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case tooLarge(bytes: Int)
    case notJSONObject
    case noWeightMap
    /// A `weight_map` value that is not a string.
    case shardNotAString(tensor: String)
    /// A shard named by anything but a plain file name in the index's directory.
    case notPlainFileName(shard: String, tensor: String)
    /// A shard that is a FIFO, a directory, a device or a socket (`kind` says which), refused unopened.
    case shardNotRegularFile(shard: String, kind: String, tensor: String)
    case tensorNotInShard(tensor: String, shard: String)
    case tensorInSeveralShards(tensor: String)

    public var description: String {
        switch self {
        case .tooLarge(let bytes):
            "\(bytes) bytes is too large for a shard index (limit 100,000,000)"
        case .notJSONObject:
            "not a JSON object"
        case .noWeightMap:
            "no 'weight_map' object mapping tensor names to shard files"
        case .shardNotAString(let tensor):
            "weight_map entry '\(tensor)' is not a file name"
        case .notPlainFileName(let shard, let tensor):
            "shard '\(shard)' for '\(tensor)' must be a plain file name beside the index (not empty, '.' or '..', and without '/' or NUL)"
        case .shardNotRegularFile(let shard, let kind, let tensor):
            "shard '\(shard)' (where weight_map puts '\(tensor)') is \(kind), not a regular file; a shard must be a regular file beside the index"
        case .tensorNotInShard(let tensor, let shard):
            "weight_map puts '\(tensor)' in \(shard), which does not hold it"
        case .tensorInSeveralShards(let tensor):
            "tensor '\(tensor)' is stored in more than one shard"
        }
    }
}
