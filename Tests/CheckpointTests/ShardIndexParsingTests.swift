import Testing
@testable import Checkpoint

/// `ShardIndex` from bytes: one test per rule of `ShardIndexProblem` that the bytes alone decide.
@Suite struct ShardIndexParsingTests {
    private let path = "m/model.safetensors.index.json"

    private func problem(_ json: String) -> ShardIndexProblem? {
        do {
            _ = try ShardIndex(json: Array(json.utf8), path: path)
            return nil
        } catch {
            guard case .shardIndex(let errorPath, let problem) = error else { return nil }
            #expect(errorPath == path)
            return problem
        }
    }

    @Test func aWellFormedIndexGroupsTensorsByShard() throws {
        let index = try ShardIndex(json: Array(#"{"weight_map": {"b": "s2", "a": "s1", "c": "s1"}}"#.utf8), path: path)
        #expect(index.tensorsByShard.mapValues { $0.sorted() } == ["s1": ["a", "c"], "s2": ["b"]])
    }

    @Test func notAnObjectOrNoWeightMap() {
        #expect(problem("[]") == .notJSONObject)
        #expect(problem("{") == .notJSONObject)
        #expect(problem(#"{"metadata": {}}"#) == .noWeightMap)
        #expect(problem(#"{"weight_map": {}}"#) == .noWeightMap)
        #expect(problem(#"{"weight_map": {"a": 1}}"#) == .shardNotAString(tensor: "a"))
    }

    @Test(arguments: ["", ".", "..", "../s1", "/abs/s1", "sub/s1", "s1\\u0000.txt", "\\u0000"])
    func shardNamesMustBePlainFileNames(_ written: String) throws {
        // The name as the JSON decoder hands it over: \u0000 is one NUL.
        let decoded = written.replacingOccurrences(of: "\\u0000", with: "\u{0}")
        #expect(problem(#"{"weight_map": {"a": "s1", "t": "\#(written)"}}"#) == .notPlainFileName(shard: decoded, tensor: "t"))
    }

    @Test func namesWithDotsOrSpacesInsideArePlain() throws {
        let index = try ShardIndex(json: Array(#"{"weight_map": {"a": "..s1", "b": "s 2.", "c": "x..y"}}"#.utf8), path: path)
        #expect(index.tensorsByShard.keys.sorted() == ["..s1", "s 2.", "x..y"])
    }
}
