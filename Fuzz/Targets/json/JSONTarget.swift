import Checkpoint

/// The bytes as JSON read into a `JSONValue`; what it writes back must be valid JSON that reads as
/// the same value (its doc comment promises that no output is ever invalid JSON).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let value = try? JSONValue(parsing: Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    for text in [value.compact, value.pretty] {
        guard let again = try? JSONValue(parsing: Array(text.utf8)), same(again, value) else {
            fatalError("JSONValue wrote \(text), which does not read back as the value it was read from")
        }
    }
    return 0
}

/// Equal, but for numbers that are not integers, which may come back up to about ten units in the
/// last place away: swift-corelibs-foundation's JSONSerialization reads some decimals as a nearby
/// double (0.30000000000000004 as 0.3000000000000001, 1.0000000000000007e+110 six units off),
/// although JSONValue writes each as the shortest text that Swift reads back exactly.
func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
    switch (a, b) {
    case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy(same)
    case (.object(let x), .object(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && same($0.1, $1.1) }
    case (.number, _), (_, .number):
        guard let x = a.double, let y = b.double else { return false }
        return abs(x - y) <= max(abs(x), abs(y)) * 1e-13
    default: return a == b
    }
}
