/// Well-formed UTF-8 as Unicode defines it (Table 3-7) and as Rust's `str::from_utf8` checks it: no
/// overlong forms, no encoded surrogates, nothing above U+10FFFF, no truncated sequences.
enum UTF8Check {
    /// The offset of the first byte that does not start or continue a well-formed sequence, or nil.
    static func firstInvalidByte(in bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            let lead = bytes[i]
            // The sequence length and the allowed range of the second byte, by lead byte.
            let length: Int, second: ClosedRange<UInt8>
            switch lead {
            case 0x00...0x7F: i += 1; continue
            case 0xC2...0xDF: length = 2; second = 0x80...0xBF
            case 0xE0: length = 3; second = 0xA0...0xBF
            case 0xE1...0xEC, 0xEE...0xEF: length = 3; second = 0x80...0xBF
            case 0xED: length = 3; second = 0x80...0x9F
            case 0xF0: length = 4; second = 0x90...0xBF
            case 0xF1...0xF3: length = 4; second = 0x80...0xBF
            case 0xF4: length = 4; second = 0x80...0x8F
            default: return i
            }
            guard i + 1 < bytes.count, second.contains(bytes[i + 1]) else { return i }
            for k in 2..<length {
                guard i + k < bytes.count, (0x80...0xBF).contains(bytes[i + k]) else { return i }
            }
            i += length
        }
        return nil
    }
}
