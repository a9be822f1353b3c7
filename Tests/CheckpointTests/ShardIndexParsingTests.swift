import Foundation
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
        #expect(problem("{") == .invalidJSON("the text ends in the middle of a value at line 1, column 2"))
        #expect(problem(#"{"weight_map": {"a": "s1",}}"#) == .invalidJSON("trailing comma at line 1, column 27"))
        #expect(problem(#"{"weight_map": []}"#) == .noWeightMap)
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

    /// Names are compared as bytes, as Python's json compares them: a name written twice keeps its
    /// last value (so does a repeated weight_map), and names equal only under Unicode normalization
    /// are refused, tensors with `CheckpointError.ambiguousNames`, shard files by name.
    @Test func namesAreComparedAsBytes() throws {
        let twice = try ShardIndex(json: Array(#"{"weight_map": {"a": "s1", "b": "s1", "a": "s2"}}"#.utf8), path: path)
        #expect(twice.tensorsByShard.mapValues { $0.sorted() } == ["s1": ["b"], "s2": ["a"]])
        let maps = try ShardIndex(json: Array(#"{"weight_map": {"a": "s1"}, "weight_map": {"b": "s2"}}"#.utf8), path: path)
        #expect(maps.tensorsByShard == ["s2": ["b"]])

        #expect(throws: CheckpointError.ambiguousNames(path: path, first: "cafe\u{301}", second: "caf\u{E9}")) {
            try ShardIndex(json: Array(#"{"weight_map": {"caf\u00e9": "s1", "cafe\u0301": "s2"}}"#.utf8), path: path)
        }
        #expect(problem(#"{"weight_map": {"a": "caf\u00e9.safetensors", "b": "cafe\u0301.safetensors"}}"#)
            == .ambiguousShardNames(first: "caf\u{E9}.safetensors", second: "cafe\u{301}.safetensors"))
    }

    /// Across shards too: a shard holding a twin of a name another shard holds is refused as
    /// ambiguous (it was "stored in more than one shard"), and weight_map's spelling of a name must
    /// be the shard's own, byte for byte.
    @Test func shardsAreMatchedToTheIndexByBytes() throws {
        let directory = try Fixture.scratch()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        func shard(_ name: String, _ tensors: [String]) throws {
            let entries = tensors.enumerated().map { #""\#($0.element)":{"dtype":"F32","shape":[1],"data_offsets":[\#(4 * $0.offset),\#(4 * $0.offset + 4)]}"# }
            try Data(Fixture.safetensors(header: "{" + entries.joined(separator: ",") + "}", dataBytes: 4 * tensors.count))
                .write(to: URL(fileURLWithPath: "\(directory)/\(name)"))
        }
        func open(_ index: String) throws -> ShardedFile {
            try index.write(toFile: "\(directory)/model.safetensors.index.json", atomically: false, encoding: .utf8)
            return try ShardedFile(indexPath: "\(directory)/model.safetensors.index.json", kind: ShardedSafetensorsFormat.kind)
        }
        let index = "\(directory)/model.safetensors.index.json"
        try shard("s1.safetensors", ["caf\u{E9}"])
        try shard("s2.safetensors", ["x", "cafe\u{301}"])
        #expect(throws: CheckpointError.ambiguousNames(path: index, first: "caf\u{E9}", second: "cafe\u{301}")) {
            try open(#"{"weight_map": {"caf\u00e9": "s1.safetensors", "x": "s2.safetensors"}}"#)
        }
        try shard("s2.safetensors", ["x"])
        #expect(try open(#"{"weight_map": {"caf\u00e9": "s1.safetensors", "x": "s2.safetensors"}}"#).tensors.count == 2)
        #expect(throws: CheckpointError.shardIndex(path: index, problem: .tensorNotInShard(tensor: "cafe\u{301}", shard: "s1.safetensors"))) {
            try open(#"{"weight_map": {"cafe\u0301": "s1.safetensors", "x": "s2.safetensors"}}"#)
        }
    }
}
