import Testing
@testable import Checkpoint

/// The strict reader keeps what JSONSerialization hides (repeated keys, the spelling of numbers)
/// and refuses what serde_json refuses; it never traps, whatever the bytes.
@Suite struct StrictJSONReaderTests {
    private func reader(_ text: String) throws -> StrictJSONReader { try StrictJSONReader(Array(text.utf8)) }

    /// The reason `body` fails with on `text`, or nil if it succeeds.
    private func reason(_ text: String, _ body: (StrictJSONReader) throws(StrictJSONError) -> Void = { try $0.skipValue(); try $0.finish() }) -> StrictJSONError.Reason? {
        do {
            try body(try StrictJSONReader(Array(text.utf8)))
            return nil
        } catch {
            return error.reason
        }
    }

    @Test func repeatedKeysComeThroughInOrder() throws {
        let json = try reader(#"{"a": 1, "b": 2, "a": 3}"#)
        try json.beginObject()
        var keys: [String] = []
        while let key = try json.nextKey() {
            keys.append(key)
            try json.skipValue()
        }
        try json.finish()
        #expect(keys == ["a", "b", "a"])
    }

    @Test func numbersKeepTheirSpelling() throws {
        let cases: [(String, UInt64?)] = [("4", 4), ("0", 0), ("4.0", nil), ("4e0", nil), ("4E+0", nil), ("-0", nil), ("-4", nil),
                                          ("18446744073709551615", .max), ("18446744073709551616", nil), ("-9223372036854775809", nil),
                                          ("1e-999999999999999999999", nil), ("0e999999999999999999999", nil)]
        for (text, unsigned) in cases {
            let number = try reader(text).readNumber()
            #expect(number == StrictJSONNumber(literal: text, unsigned: unsigned), "\(text)")
        }
    }

    @Test func refusesNumbersSerdeJSONRefuses() {
        for text in ["01", "-", "1.", ".5", "+1", "1e", "1e+", "-01", "0x10"] {
            #expect(reason(text) != nil, "\(text)")
        }
        #expect(reason("01") == .invalidNumber)
        #expect(reason("1.") == .unexpectedEnd)
        #expect(reason("[1.]") == .invalidNumber)
        for text in ["1e400", "-1e400", "1.8e308", "1" + String(repeating: "0", count: 400)] {
            #expect(reason(text) == .numberOutOfRange, "\(text)")
        }
        #expect(reason("1.7976931348623157e308") == nil)
        for text in ["NaN", "Infinity", "-Infinity"] { #expect(reason(text) != nil, "\(text)") }
    }

    @Test func stringsDecodeEveryEscape() throws {
        #expect(try reader(#""\"\\\/\b\f\n\r\t\u00e9\u0000\ud83d\ude00""#).readString() == "\"\\/\u{8}\u{c}\n\r\t\u{e9}\u{0}\u{1F600}")
        #expect(try reader(#""plain é""#).readString() == "plain é")
        #expect(try reader("\"\u{7f}\"").readString() == "\u{7f}")
    }

    @Test func refusesBadStrings() {
        #expect(reason(#""\ud800""#) == .loneSurrogate)
        #expect(reason(#""\udc00""#) == .loneSurrogate)
        #expect(reason(#""\ud800\u0041""#) == .loneSurrogate)
        #expect(reason(#""\ud800\ud800""#) == .loneSurrogate)
        #expect(reason(#""\x41""#) == .invalidEscape)
        #expect(reason(#""\u00G9""#) == .invalidEscape)
        #expect(reason(#""\u004""#) == .invalidEscape)
        #expect(reason("\"a\u{0}b\"") == .controlCharacter)
        #expect(reason("\"a\tb\"") == .controlCharacter)
        #expect(reason("\"abc") == .unexpectedEnd)
        #expect(reason("'a'") == .expectedValue)
    }

    @Test func refusesExtensionsToJSON() {
        #expect(reason("[1,]") == .trailingComma)
        #expect(reason(#"{"a":1,}"#) == .trailingComma)
        #expect(reason("[,1]") == .expectedValue)
        #expect(reason("[1,,2]") == .expectedValue)
        #expect(reason(#"{,"a":1}"#) == .keyNotString)
        #expect(reason("{1:2}") == .keyNotString)
        #expect(reason(#"{"a" 1}"#) == .expectedColon)
        #expect(reason("[1 2]") == .expectedCommaOrEnd)
        #expect(reason("{} x") == .trailingCharacters)
        #expect(reason("{}\u{c}") == .trailingCharacters)
        #expect(reason("{}\u{0}") == .trailingCharacters)
        #expect(reason("\u{feff}{}") == .expectedValue)
        #expect(reason("/* c */ {}") == .expectedValue)
        #expect(reason("nul") == .unexpectedEnd)
        #expect(reason("nulL") == .invalidLiteral)
        #expect(reason("") == .unexpectedEnd)
        #expect(reason(" \t\r\n{ \t\r\n} \t\r\n") == nil)
    }

    @Test func nestingStopsAtSerdeJSONsLimit() {
        let limit = StrictJSONReader.maximumDepth
        #expect(reason(String(repeating: "[", count: limit) + String(repeating: "]", count: limit)) == nil)
        #expect(reason(String(repeating: "[", count: limit + 1) + String(repeating: "]", count: limit + 1)) == .tooDeep)
        #expect(reason(String(repeating: "[", count: 1_000_000)) == .tooDeep)
        #expect(reason(String(repeating: #"{"a":"#, count: 1_000_000)) == .tooDeep)
    }

    @Test func checksUTF8FirstAndWhole() {
        let cases: [([UInt8], Int?)] = [
            (Array("{\"é€😀\":1}".utf8), nil),
            ([0x7B, 0x7D, 0xFF], 2),              // after the value: still refused
            ([0x22, 0xC0, 0xAF, 0x22], 1),        // overlong '/'
            ([0x22, 0xED, 0xA0, 0x80, 0x22], 1),  // an encoded surrogate
            ([0x22, 0xE2, 0x82, 0x22], 1),        // truncated
            ([0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], 1),  // above U+10FFFF
            ([0x22, 0xE2, 0x82], 1),              // truncated at the end of the text
            ([0x80], 0),                          // a lone continuation byte
        ]
        for (bytes, bad) in cases {
            do {
                _ = try StrictJSONReader(bytes)
                #expect(bad == nil, "\(bytes)")
            } catch {
                #expect(error.reason == .invalidUTF8 && error.offset == bad, "\(bytes)")
            }
        }
    }

    @Test func errorsSayWhere() {
        do {
            let json = try StrictJSONReader(Array("{\n  \"a\": [1,\n   ]\n}".utf8))
            try json.skipValue()
            Issue.record("accepted")
        } catch {
            #expect(error.description == "trailing comma at line 3, column 4")
            #expect(error.offset == 16)
        }
    }

    /// Mutated and random headers: every one is either read or refused, by the reader and by the header, and nothing traps.
    @Test func survivesHostileBytes() {
        let seed = Array(#" {"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":[1.5e3,null,true,"\u00e9"]},"b":["F16",[1],[8,10]]}"#.utf8)
        let alphabet = Array(#"{}[]",:.-+eE0123456789\u"nulltruefalse "#.utf8) + [0x00, 0x0A, 0x80, 0xC3, 0xA9, 0xED, 0xFF]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return Int(state % 1_000_003)
        }
        var read = 0, refused = 0
        for round in 0..<10_000 {
            var bytes = seed
            if round % 10 == 9 {
                bytes = (0..<(next() % 64)).map { _ in UInt8(truncatingIfNeeded: next()) }
            } else {
                for _ in 0...(next() % 4) {
                    let at = next() % (bytes.count + 1)
                    switch next() % 3 {
                    case 0: bytes.insert(alphabet[next() % alphabet.count], at: at)
                    case 1: if at < bytes.count { bytes.remove(at: at) }
                    default: if at < bytes.count { bytes[at] = alphabet[next() % alphabet.count] }
                    }
                }
            }
            do {
                let json = try StrictJSONReader(bytes)
                try json.skipValue()
                try json.finish()
            } catch {}
            do {
                _ = try SafetensorsHeader(json: bytes, fileSize: 8 + bytes.count + next() % 16)
                read += 1
            } catch {
                refused += 1
            }
        }
        #expect(read + refused == 10_000)
        #expect(refused > 0)
    }
}
