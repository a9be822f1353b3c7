/// Why `StrictJSONReader` refused its text, and where: the byte offset, and the line and column
/// (1-based, columns counted in bytes) that an editor shows.
struct StrictJSONError: Error, Equatable, Sendable, CustomStringConvertible {
    enum Reason: Equatable, Sendable {
        case invalidUTF8
        case unexpectedEnd
        case expectedValue
        case keyNotString
        case expectedColon
        case expectedCommaOrEnd
        case trailingComma
        case trailingCharacters
        case invalidNumber
        case numberOutOfRange
        case invalidLiteral
        case controlCharacter
        case invalidEscape
        case loneSurrogate
        case tooDeep

        var text: String {
            switch self {
            case .invalidUTF8: "not UTF-8"
            case .unexpectedEnd: "the text ends in the middle of a value"
            case .expectedValue: "expected a value (an object, array, string, number, true, false or null)"
            case .keyNotString: "an object key must be a string in double quotes"
            case .expectedColon: "expected ':' after an object key"
            case .expectedCommaOrEnd: "expected ',' or the end of the array or object"
            case .trailingComma: "trailing comma"
            case .trailingCharacters: "characters after the end of the JSON value (only spaces, tabs and newlines may follow)"
            case .invalidNumber: "invalid number"
            case .numberOutOfRange: "number out of the range of a double"
            case .invalidLiteral: "invalid literal (expected true, false or null)"
            case .controlCharacter: "raw control character (U+0000 to U+001F) in a string; write it as an escape"
            case .invalidEscape: "invalid escape in a string"
            case .loneSurrogate: "a \\u escape of a UTF-16 surrogate that is not half of a pair"
            case .tooDeep: "more than \(StrictJSONReader.maximumDepth) arrays and objects nested"
            }
        }
    }

    let reason: Reason
    /// Byte offset into the text.
    let offset: Int
    let line: Int
    let column: Int

    init(reason: Reason, text: [UInt8], offset: Int) {
        self.reason = reason
        let end = min(max(offset, 0), text.count)
        self.offset = end
        var line = 1, lineStart = 0
        for i in 0..<end where text[i] == 0x0A {
            line += 1
            lineStart = i + 1
        }
        self.line = line
        column = end - lineStart + 1
    }

    var description: String { "\(reason.text) at line \(line), column \(column)" }
}
