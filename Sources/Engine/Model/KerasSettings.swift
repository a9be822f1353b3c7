import Foundation

/// One layer's entry in a Keras model config (`class_name`, `config`), read with the checks the
/// engine needs: every size it uses is positive, every option one it runs.
struct KerasSettings {
    let className: String
    let values: [String: Any]
    let name: String
    let path: String
    /// Whether Keras 2 wrote the file (a few definitions changed in Keras 3).
    let keras2: Bool

    init(entry: [String: Any], path: String, keras2: Bool, overriding: [String: Any] = [:]) {
        className = entry["class_name"] as? String ?? "?"
        values = (entry["config"] as? [String: Any] ?? [:]).merging(overriding) { _, new in new }
        name = values["name"] as? String ?? entry["name"] as? String ?? className
        self.path = path
        self.keras2 = keras2
    }


    subscript(_ key: String) -> Any? { values[key] }

    func unsupported(_ option: String) -> EngineError { .unsupportedOption(path: path, layer: name, option: option) }

    /// A setting that is one positive integer or a list of `count` (`strides`, `pool_size`); nil when absent.
    func sizes(_ key: String, count: Int) throws -> [Int]? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        let sizes: [Int]? = if let list = value as? [Int], list.count == count { list }
            else if let single = value as? Int { [Int](repeating: single, count: count) } else { nil }
        guard let sizes, sizes.allSatisfy({ $0 > 0 }) else {
            throw unsupported("\(key) \(value) (expected one or \(count) positive integers)")
        }
        return sizes
    }

    /// `sizes(key, count: 2)` as a pair.
    func pair(_ key: String) throws -> (Int, Int)? {
        try sizes(key, count: 2).map { ($0[0], $0[1]) }
    }

    /// "same" (true) or "valid" (false) padding; others are refused.
    func samePadding() throws -> Bool {
        switch (values["padding"] as? String ?? "valid").lowercased() {
        case "same": return true
        case "valid": return false
        case let other: throw unsupported("padding '\(other)'")
        }
    }

    func requireChannelsLast() throws {
        if let format = values["data_format"] as? String, format != "channels_last" { throw unsupported("data_format '\(format)'") }
    }

    /// Dilation and groups the engine does not run.
    func requirePlainConvolution() throws {
        if let dilation = try sizes("dilation_rate", count: (values["dilation_rate"] as? [Any])?.count ?? 1), dilation.contains(where: { $0 != 1 }) {
            throw unsupported("dilation_rate \(dilation)")
        }
        if let groups = values["groups"] as? Int, groups != 1 { throw unsupported("groups \(groups)") }
    }

    /// The layer's `activation` (or another key's), `fallback` when absent.
    func activation(_ key: String = "activation", _ fallback: ActivationFunction = .linear) throws -> ActivationFunction {
        guard let value = values[key], !(value is NSNull) else { return fallback }
        guard let text = value as? String else { throw unsupported("a custom \(key)") }
        return try ActivationFunction(keras: text, layer: name, path: path, keras2: keras2)
    }

    /// A number setting (integers are numbers too); `fallback` when absent.
    func number(_ key: String, _ fallback: Double) throws -> Double {
        guard let value = values[key], !(value is NSNull) else { return fallback }
        guard let number = value as? Double ?? (value as? Int).map(Double.init), number.isFinite else { throw unsupported("\(key) \(value)") }
        return number
    }

    /// A number setting that may be absent or null.
    func optionalNumber(_ key: String) throws -> Double? {
        guard let value = values[key], !(value is NSNull) else { return nil }
        return try number(key, 0)
    }

    /// A number, or a list of numbers (`Rescaling`'s scale and offset); `fallback` when absent.
    func numbers(_ key: String, _ fallback: Double) throws -> [Float] {
        guard let value = values[key], !(value is NSNull) else { return [Float(fallback)] }
        if let list = value as? [Any] {
            let numbers = list.compactMap { $0 as? Double }
            guard !numbers.isEmpty, numbers.count == list.count, numbers.allSatisfy(\.isFinite) else { throw unsupported("\(key) \(value)") }
            return numbers.map(Float.init)
        }
        return [Float(try number(key, fallback))]
    }

    /// A boolean setting; `fallback` when absent.
    func flag(_ key: String, _ fallback: Bool) -> Bool { values[key] as? Bool ?? fallback }

    /// A positive integer setting the layer must have.
    func positive(_ key: String) throws -> Int {
        guard let value = values[key] as? Int, value > 0 else { throw unsupported("\(key) \(values[key].map { "\($0)" } ?? "missing") (expected a positive integer)") }
        return value
    }

    /// The single axis of `axis` (an integer, or a list of one), counting the batch axis as Keras does; `fallback` when absent.
    func axis(_ fallback: Int) throws -> Int {
        guard let value = values["axis"], !(value is NSNull) else { return fallback }
        if let axis = value as? Int { return axis }
        if let axes = value as? [Int], axes.count == 1 { return axes[0] }
        throw unsupported("axis \(value) (the engine runs one axis)")
    }
}
