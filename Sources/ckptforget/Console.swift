import Checkpoint
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Results go to stdout; diagnostics and progress to stderr, progress only on a terminal.
/// Control characters (which a tensor or file name may hold, and which would drive a terminal) are
/// escaped in every message and in results shown on a terminal; results piped elsewhere keep
/// names as they are (JSON escapes them itself).
enum Console {
    static func output(_ text: String) {
        print(isatty(STDOUT_FILENO) == 1 ? escaped(text) : text)
    }

    static func error(_ text: String) {
        raw(escaped(text) + "\n")
    }

    /// `text` with every control character but newline and tab (C0, DEL and C1) written as `\xHH`.
    static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var result = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if isControl(scalar) {
                let hex = String(scalar.value, radix: 16, uppercase: true)
                result.append(contentsOf: ("\\x" + (hex.count < 2 ? "0" : "") + hex).unicodeScalars)
            } else {
                result.append(scalar)
            }
        }
        return String(result)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A, 0x09: false
        case 0x00...0x1F, 0x7F...0x9F: true
        default: false
        }
    }

    /// `ckptforget: warning: TEXT` on stderr (also with --quiet).
    static func warning(_ text: String) {
        error("ckptforget: warning: " + text)
    }

    /// Writes to stderr unbuffered (also from the interrupt handler).
    static func raw(_ text: String) {
        var bytes = Array(text.utf8)
        _ = write(STDERR_FILENO, &bytes, bytes.count)
    }

    static var stderrIsTerminal: Bool { isatty(STDERR_FILENO) == 1 }
}

/// A one-line progress display on a terminal's stderr: `[ 3/12] edit name  size`, rewritten in place.
final class ProgressLine {
    private var total = 0
    private var done = 0
    private let enabled: Bool

    init(enabled: Bool) {
        self.enabled = enabled && Console.stderrIsTerminal
    }

    /// `total` tensors are about to be written.
    func start(_ total: Int) {
        self.total = total
        done = 0
    }

    func advance(_ info: TensorInfo, edited: Bool) {
        advance(info.name, bytes: info.byteCount, edited: edited)
    }

    func advance(_ name: String, bytes: Int, edited: Bool) {
        done += 1
        guard enabled else { return }
        let width = String(total).count
        let counter = String(repeating: " ", count: width - String(done).count) + String(done)
        let line = "[\(counter)/\(total)] \(edited ? "edit" : "copy") \(Console.escaped(name))  \(Format.bytes(bytes))"
        Console.raw("\r\u{1B}[2K" + String(line.prefix(160)))
    }

    func finish() {
        guard enabled else { return }
        Console.raw("\r\u{1B}[2K")
    }
}

enum Format {
    /// Rows aligned in columns two spaces apart (the last column unpadded).
    static func columns(_ rows: [[String]]) -> [String] {
        let widths = (rows.first ?? []).indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ").trimmingSuffix(" ")
        }
    }

    static func bytes(_ count: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(count), unit = 0
        while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func shape(_ shape: [Int]) -> String {
        "(" + shape.map(String.init).joined(separator: ", ") + (shape.count == 1 ? ",)" : ")")
    }

    /// A number in the shortest form that reads back exactly (`%g` for the table).
    static func number(_ value: Double) -> String {
        String(format: "%.6g", value)
    }
}

extension String {
    func trimmingSuffix(_ character: Character) -> String {
        var result = self
        while result.last == character { result.removeLast() }
        return result
    }
}
