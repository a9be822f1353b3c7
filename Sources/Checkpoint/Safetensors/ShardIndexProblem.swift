/// One case per rule a shard index (`model.safetensors.index.json`, `pytorch_model.bin.index.json`)
/// and its shards must satisfy.
/// `CheckpointError.shardIndex` puts the index's path in front of the message.
public enum ShardIndexProblem: Error, Equatable, CustomStringConvertible, Sendable {
    case tooLarge(bytes: Int)
    /// Not JSON (the reason, with its line and column).
    case invalidJSON(String)
    case notJSONObject
    case noWeightMap
    /// A `weight_map` value that is not a string.
    case shardNotAString(tensor: String)
    /// A shard named by anything but a plain file name in the index's directory.
    case notPlainFileName(shard: String, tensor: String)
    /// A shard that is a FIFO, a directory, a device or a socket (`kind` says which), refused unopened.
    case shardNotRegularFile(shard: String, kind: String, tensor: String)
    /// Two shard names that differ only in Unicode normalization: two files, one name to Swift.
    case ambiguousShardNames(first: String, second: String)
    case tensorNotInShard(tensor: String, shard: String)
    case tensorInSeveralShards(tensor: String)

    public var description: String {
        switch self {
        case .tooLarge(let bytes):
            "\(bytes) bytes is too large for a shard index (limit 100,000,000)"
        case .invalidJSON(let reason):
            "not valid JSON: \(reason)"
        case .notJSONObject:
            "not a JSON object"
        case .noWeightMap:
            "no 'weight_map' object mapping tensor names to shard files"
        case .shardNotAString(let tensor):
            "weight_map entry '\(tensor)' is not a string naming a shard file"
        case .notPlainFileName(let shard, let tensor):
            "shard '\(shard)' for '\(tensor)' must be a plain file name beside the index (not empty, '.' or '..', and without '/' or NUL)"
        case .shardNotRegularFile(let shard, let kind, let tensor):
            "shard '\(shard)' (where weight_map puts '\(tensor)') is \(kind), not a regular file; a shard must be a regular file beside the index"
        case .ambiguousShardNames(let first, let second):
            "shards '\(first)' (UTF-8 \(CheckpointError.hex(first))) and '\(second)' (UTF-8 \(CheckpointError.hex(second))) have names that differ only in "
                + "Unicode normalization, which ckptforget cannot keep apart; rename one"
        case .tensorNotInShard(let tensor, let shard):
            "weight_map puts '\(tensor)' in \(shard), which does not hold it"
        case .tensorInSeveralShards(let tensor):
            "tensor '\(tensor)' is stored in more than one shard"
        }
    }
}
