/// The command line's words, split into options, flags and operands by a table of what each
/// subcommand accepts. Hand-written on purpose: ckptforget has no package dependencies.
struct Arguments {
    struct Option {
        let names: [String]
        let takesValue: Bool
        let repeatable: Bool

        static func value(_ names: String..., repeatable: Bool = false) -> Option {
            Option(names: names, takesValue: true, repeatable: repeatable)
        }

        static func flag(_ names: String...) -> Option {
            Option(names: names, takesValue: false, repeatable: false)
        }
    }

    private(set) var values: [String: [String]] = [:]
    private(set) var flags: Set<String> = []
    private(set) var operands: [String] = []

    /// Parses `words` against `options`; the first name of each option is its key.
    init(_ words: [String], options: [Option]) throws(UsageError) {
        var index = 0
        var onlyOperands = false
        while index < words.count {
            let word = words[index]
            index += 1
            if onlyOperands || word == "-" || !word.hasPrefix("-") {
                operands.append(word)
                continue
            }
            if word == "--" { onlyOperands = true; continue }
            var name = word, inline: String?
            if word.hasPrefix("--"), let equals = word.firstIndex(of: "=") {
                name = String(word[..<equals])
                inline = String(word[word.index(after: equals)...])
            }
            guard let option = options.first(where: { $0.names.contains(name) }) else {
                throw .unknownOption(word)
            }
            let key = option.names[0]
            if option.takesValue {
                let value: String
                if let inline {
                    value = inline
                } else {
                    guard index < words.count else { throw .missingValue(name) }
                    value = words[index]
                    index += 1
                }
                guard option.repeatable || values[key] == nil else { throw .repeated(key) }
                values[key, default: []].append(value)
            } else {
                guard inline == nil else { throw .unexpectedValue(name) }
                flags.insert(key)
            }
        }
    }

    func value(_ key: String) -> String? { values[key]?.last }
    func all(_ key: String) -> [String] { values[key] ?? [] }
    func has(_ flag: String) -> Bool { flags.contains(flag) }
}

/// A command line that cannot be acted on (exit 2).
enum UsageError: Error, CustomStringConvertible {
    case unknownOption(String)
    case missingValue(String)
    case unexpectedValue(String)
    case repeated(String)
    case invalid(String)

    var description: String {
        switch self {
        case .unknownOption(let word): "unknown option '\(word)' (see --help)"
        case .missingValue(let name): "\(name) needs a value"
        case .unexpectedValue(let name): "\(name) takes no value"
        case .repeated(let name): "\(name) given more than once"
        case .invalid(let message): message
        }
    }
}
