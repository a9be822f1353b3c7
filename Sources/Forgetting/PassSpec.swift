import Checkpoint

/// A pass as written on the command line: `NAME[:ARG][,KEY=VALUE...][@GLOB]`.
///
/// `ARG` is the pass's main parameter (`dampen:0.01`); `KEY=VALUE` pairs may also stand in the
/// first position (`randomize:seed=3`); `@GLOB` restricts the pass to tensors whose name matches.
public struct PassSpec: Sendable, Equatable, CustomStringConvertible {
    public let text: String
    public let name: String
    public let positional: String?
    public let options: [(key: String, value: String)]
    public let glob: String?

    public init(parsing text: String) throws(PassError) {
        self.text = text
        var body = Substring(text)
        if let at = body.firstIndex(of: "@") {
            let pattern = body[body.index(after: at)...]
            guard !pattern.isEmpty else { throw .malformed(spec: text, reason: "nothing after '@' (expected a tensor-name glob such as dense*)") }
            glob = String(pattern)
            body = body[..<at]
        } else {
            glob = nil
        }
        let nameEnd = body.firstIndex(of: ":") ?? body.endIndex
        name = String(body[..<nameEnd])
        guard !name.isEmpty else { throw .malformed(spec: text, reason: "no pass name before ':'") }
        var positional: String?
        var options: [(String, String)] = []
        var keys: Set<String> = []  // a set, so that a long spec costs linear time, not quadratic
        if nameEnd < body.endIndex {
            let fields = body[body.index(after: nameEnd)...].split(separator: ",", omittingEmptySubsequences: false)
            for (i, field) in fields.enumerated() {
                if let equals = field.firstIndex(of: "=") {
                    let key = String(field[..<equals]), value = String(field[field.index(after: equals)...])
                    guard !key.isEmpty, !value.isEmpty else { throw .malformed(spec: text, reason: "'\(field)' must read KEY=VALUE") }
                    guard keys.insert(key).inserted else { throw .malformed(spec: text, reason: "'\(key)' given twice") }
                    options.append((key, value))
                } else if i == 0, !field.isEmpty {
                    positional = String(field)
                } else {
                    throw .malformed(spec: text, reason: "'\(field)' must read KEY=VALUE (only the first argument may be bare)")
                }
            }
        }
        self.positional = positional
        self.options = options
    }

    public var description: String { text }

    public static func == (a: PassSpec, b: PassSpec) -> Bool { a.text == b.text }
}

/// Typed access to a spec's parameters; every key must be consumed, so a misspelt key is an error.
public final class PassArguments {
    public let spec: PassSpec
    private var remaining: [String: String]
    private var positional: String?

    public init(_ spec: PassSpec) {
        self.spec = spec
        remaining = Dictionary(uniqueKeysWithValues: spec.options.map { ($0.key, $0.value) })
        positional = spec.positional
    }

    /// The value of `key`; with `positional`, the bare first argument stands for it when `key` is absent.
    public func string(_ key: String, positional allowsPositional: Bool = false) -> String? {
        if let value = remaining.removeValue(forKey: key) {
            return value
        }
        if allowsPositional, let value = positional {
            positional = nil
            return value
        }
        return nil
    }

    /// Whether `key` (or, with `positional`, the bare first argument) is `auto`: the run searches
    /// for its value. Consumes it when it is.
    public func isAuto(_ key: String, positional allowsPositional: Bool = false) -> Bool {
        if remaining[key] == "auto" {
            remaining.removeValue(forKey: key)
            return true
        }
        if allowsPositional, remaining[key] == nil, positional == "auto" {
            positional = nil
            return true
        }
        return false
    }

    /// A finite real number, optionally within `range`.
    public func double(_ key: String, positional: Bool = false, default fallback: Double? = nil,
                                in range: ClosedRange<Double>? = nil) throws(PassError) -> Double {
        guard let text = string(key, positional: positional) else {
            guard let fallback else { throw .missing(spec: spec.text, key: key) }
            return fallback
        }
        guard let value = Double(text), value.isFinite else {
            throw .badValue(spec: spec.text, key: key, value: text, expected: "a number")
        }
        if let range, !range.contains(value) {
            throw .badValue(spec: spec.text, key: key, value: text, expected: "a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// A non-negative integer.
    public func integer(_ key: String, positional: Bool = false, default fallback: UInt64) throws(PassError) -> UInt64 {
        guard let text = string(key, positional: positional) else { return fallback }
        guard let value = UInt64(text) else {
            throw .badValue(spec: spec.text, key: key, value: text, expected: "a non-negative integer")
        }
        return value
    }

    /// Throws if any argument was not consumed.
    public func finish(accepted: [String]) throws(PassError) {
        if let positional {
            throw .malformed(spec: spec.text, reason: "unexpected argument '\(positional)'")
        }
        if let key = remaining.keys.sorted().first {
            throw .unknownKey(spec: spec.text, key: key, accepted: accepted)
        }
    }
}

/// Why a `--pass` could not be used.
public enum PassError: Error, Equatable, CustomStringConvertible {
    case unknownPass(name: String, known: [String])
    case malformed(spec: String, reason: String)
    case missing(spec: String, key: String)
    case badValue(spec: String, key: String, value: String, expected: String)
    case unknownKey(spec: String, key: String, accepted: [String])
    case needsClass(pass: String)
    case needsInput(pass: String, option: String)
    case needsData(pass: String)
    case wrongModel(pass: String, path: String, needs: String)
    case needsBias(pass: String, layer: String, path: String)
    case classOutOfRange(class: Int, layer: String, units: Int, path: String)
    case noTensorMatches(spec: String, path: String)

    public var description: String {
        switch self {
        case .unknownPass(let name, let known):
            "unknown pass '\(name)'; passes: \(known.joined(separator: ", ")) (see ckptforget --help)"
        case .malformed(let spec, let reason): "--pass \(spec): \(reason)"
        case .missing(let spec, let key): "--pass \(spec): missing \(key)"
        case .badValue(let spec, let key, let value, let expected): "--pass \(spec): \(key) '\(value)' is not \(expected)"
        case .unknownKey(let spec, let key, let accepted):
            "--pass \(spec): unknown parameter '\(key)'" + (accepted.isEmpty ? " (this pass takes none)" : "; accepted: \(accepted.joined(separator: ", "))")
        case .needsClass(let pass): "pass '\(pass)' forgets a class: give it with --class C"
        case .needsInput(let pass, let option): "pass '\(pass)' needs \(option)"
        case .needsBias(let pass, let layer, let path):
            "\(path): pass '\(pass)' holds a class below the others through the output layer's bias, and '\(layer)' has none (use zero or dampen, or name another layer with --output-layer)"
        case .needsData(let pass): "pass '\(pass)' runs the model on data: give --data (with --class or --forget-ids) or --forget-data and --retain-data"
        case .wrongModel(let pass, let path, let needs): "\(path): pass '\(pass)' \(needs)"
        case .classOutOfRange(let c, let layer, let units, let path):
            "\(path): --class \(c) is out of range: output layer '\(layer)' has \(English.count(units, "unit"))" + (units > 0 ? " (classes 0...\(units - 1))" : "")
        case .noTensorMatches(let spec, let path): "\(path): --pass \(spec) selects no editable tensor"
        }
    }
}
