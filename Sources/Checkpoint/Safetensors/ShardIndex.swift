import Foundation

/// A sharded checkpoint's `model.safetensors.index.json`, as far as ckptforget reads it: the
/// `weight_map` from tensor names to shard files, each a plain file name beside the index. Parsed
/// from bytes, so that it can be tested and fuzzed without files.
struct ShardIndex {
    /// The largest index read (real ones are well under a megabyte), checked before reading it.
    static let maximumSize = 100_000_000

    /// The tensors `weight_map` puts in each shard, by shard file name.
    let tensorsByShard: [String: [String]]

    /// `path` names the index in errors.
    init(json: [UInt8], path: String) throws(CheckpointError) {
        guard let object = try? JSONSerialization.jsonObject(with: Data(json)) as? [String: Any] else {
            throw .shardIndex(path: path, problem: .notJSONObject)
        }
        guard let weightMap = object["weight_map"] as? [String: Any], !weightMap.isEmpty else {
            throw .shardIndex(path: path, problem: .noWeightMap)
        }
        var tensorsByShard: [String: [String]] = [:]
        // In name order, so that the first problem reported does not depend on hashing.
        for (tensor, value) in weightMap.sorted(by: { $0.key < $1.key }) {
            guard let shard = value as? String else {
                throw .shardIndex(path: path, problem: .shardNotAString(tensor: tensor))
            }
            // A NUL would end the name at open(2): "x.safetensors\u0000.txt" would read x.safetensors
            // and write the output under the name cut there.
            guard !shard.isEmpty, !shard.contains("/"), !shard.utf8.contains(0), shard != ".", shard != ".." else {
                throw .shardIndex(path: path, problem: .notPlainFileName(shard: shard, tensor: tensor))
            }
            tensorsByShard[shard, default: []].append(tensor)
        }
        self.tensorsByShard = tensorsByShard
    }
}
