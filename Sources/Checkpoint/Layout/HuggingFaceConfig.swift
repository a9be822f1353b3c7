import Foundation

/// What a Hugging Face `config.json` beside safetensors weights says about the classes: `id2label`
/// (class index → name), or `num_labels` alone (names `LABEL_0`...). Read only when it is there and
/// parses; anything else in it is left alone.
enum HuggingFaceConfig {
    /// The largest config read (real ones are a few KiB).
    static let maximumSize = 16 << 20
    /// The most classes read from `num_labels` alone, whose names are made up: without a bound an
    /// 18-byte `{"num_labels":1e6}` made a million names (seconds in a debug build). transformers
    /// writes `id2label` beside `num_labels`, and names in the file are read up to 2^20.
    static let maximumMadeUpLabels = 1 << 16

    /// Class names by index from `directory/config.json`, or nil.
    static func classLabels(besides directory: String) -> [String]? {
        let path = (directory.isEmpty ? "." : directory) + "/config.json"
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              attributes[.type] as? FileAttributeType == .typeRegular, (attributes[.size] as? Int ?? .max) <= maximumSize,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        return classLabels(json: data)
    }

    /// Class names by index from a `config.json`'s bytes, or nil.
    static func classLabels(json data: Data) -> [String]? {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        if let map = root["id2label"] as? [String: Any], !map.isEmpty, map.count <= 1 << 20 {
            var labels = [String?](repeating: nil, count: map.count)
            for (key, value) in map {
                guard let index = Int(key), labels.indices.contains(index), let name = value as? String, labels[index] == nil else { return nil }
                labels[index] = name
            }
            return labels.compactMap { $0 }
        }
        if let count = root["num_labels"] as? Int, (1...maximumMadeUpLabels).contains(count) {
            return (0..<count).map { "LABEL_\($0)" }
        }
        return nil
    }
}
