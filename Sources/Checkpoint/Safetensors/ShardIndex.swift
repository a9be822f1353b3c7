/// A sharded checkpoint's `model.safetensors.index.json` (or `pytorch_model.bin.index.json`), as far
/// as ckptforget reads it: the `weight_map` from tensor names to shard files, each a plain file name
/// beside the index. Parsed from bytes, so that it can be tested and fuzzed without files.
///
/// The JSON is read with `StrictJSONReader`, names compared as bytes (as Python's `json`, which
/// writes and reads these indexes, compares them): a name written twice keeps its last value, as
/// there. Two tensor names, or two shard names, that differ only in Unicode normalization are two
/// names to Python and to the file system but one `String` to Swift, so they are refused by name.
struct ShardIndex {
    /// The largest index read (real ones are well under a megabyte), checked before reading it.
    static let maximumSize = 100_000_000

    /// The tensors `weight_map` puts in each shard, by shard file name.
    let tensorsByShard: [String: [String]]

    /// `path` names the index in errors.
    init(json: [UInt8], path: String) throws(CheckpointError) {
        let weightMap: [(tensor: String, shard: String)]
        do {
            weightMap = try Self.readWeightMap(json)
        } catch let error as StrictJSONError {
            throw .shardIndex(path: path, problem: .invalidJSON(error.description))
        } catch let problem as ShardIndexProblem {
            throw .shardIndex(path: path, problem: problem)
        } catch {
            throw .shardIndex(path: path, problem: .invalidJSON("\(error)"))  // readWeightMap throws only the two above
        }
        var tensorsByShard: [String: [String]] = [:]
        var tensorSpelling: [String: String] = [:], shardSpelling: [String: String] = [:]
        // In byte order, so that the first problem reported does not depend on hashing.
        for (tensor, shard) in weightMap.sorted(by: { $0.tensor.utf8.lexicographicallyPrecedes($1.tensor.utf8) }) {
            if let other = tensorSpelling[tensor] { throw .ambiguousNames(path: path, first: other, second: tensor) }
            tensorSpelling[tensor] = tensor
            // A NUL would end the name at open(2): "x.safetensors\u0000.txt" would read x.safetensors
            // and write the output under the name cut there.
            guard !shard.isEmpty, !shard.contains("/"), !shard.utf8.contains(0), shard != ".", shard != ".." else {
                throw .shardIndex(path: path, problem: .notPlainFileName(shard: shard, tensor: tensor))
            }
            if let other = shardSpelling[shard], !other.isExactly(shard) {
                throw .shardIndex(path: path, problem: .ambiguousShardNames(first: other, second: shard))
            }
            shardSpelling[shard] = shard
            tensorsByShard[shard, default: []].append(tensor)
        }
        self.tensorsByShard = tensorsByShard
    }

    /// The `weight_map` members in the order written, one per name as bytes (the last value of a
    /// repeated name; the last `weight_map` if there are several). Throws `StrictJSONError` for text
    /// that is not JSON, `ShardIndexProblem` for JSON that is not an index.
    private static func readWeightMap(_ json: [UInt8]) throws -> [(tensor: String, shard: String)] {
        let reader = try StrictJSONReader(json)
        guard try reader.peek() == .object else { throw ShardIndexProblem.notJSONObject }
        try reader.beginObject()
        var weightMap: [(tensor: String, shard: String)]?
        while let key = try reader.nextKey() {
            guard key.isExactly("weight_map") else {
                try reader.skipValue()
                continue
            }
            guard try reader.peek() == .object else { throw ShardIndexProblem.noWeightMap }
            try reader.beginObject()
            var members: [(tensor: String, shard: String)] = []
            var indexOfName: [[UInt8]: Int] = [:]
            while let tensor = try reader.nextKey() {
                guard try reader.peek() == .string else { throw ShardIndexProblem.shardNotAString(tensor: tensor) }
                let shard = try reader.readString()
                if let index = indexOfName[Array(tensor.utf8)] {
                    members[index].shard = shard
                } else {
                    indexOfName[Array(tensor.utf8)] = members.count
                    members.append((tensor, shard))
                }
            }
            weightMap = members
        }
        try reader.finish()
        guard let weightMap, !weightMap.isEmpty else { throw ShardIndexProblem.noWeightMap }
        return weightMap
    }
}
