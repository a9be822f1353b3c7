import Foundation

/// Markup written as text: every piece of text that came from a file or a user (names, paths,
/// parameters) goes through `escape`, so a tensor called `<b>&"` shows as itself and can never
/// open an element or end an attribute. Elements are built by `element`, attributes in the
/// order given, so the page's bytes depend on nothing but its content.
enum Markup {
    /// `text` safe inside an element or a double- or single-quoted attribute: `& < > " '` as
    /// character references, and control characters other than tab and newline (which HTML does
    /// not allow in text) as U+FFFD.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            case "\t", "\n": result.unicodeScalars.append(scalar)
            default:
                let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
                result.unicodeScalars.append(isControl ? "\u{FFFD}" : scalar)
            }
        }
        return result
    }

    /// `<name a="v"...>content</name>`; `content` is markup already (escape text first, or use `text`).
    static func element(_ name: String, _ attributes: [(String, String)] = [], _ content: String = "") -> String {
        "<\(name)\(attributeText(attributes))>\(content)</\(name)>"
    }

    /// An element holding `text`, escaped.
    static func text(_ name: String, _ attributes: [(String, String)] = [], _ text: String) -> String {
        element(name, attributes, escape(text))
    }

    /// A void element (`<meta ...>`) or, in SVG, a self-closed one (`<line .../>`).
    static func empty(_ name: String, _ attributes: [(String, String)], selfClosing: Bool = false) -> String {
        "<\(name)\(attributeText(attributes))\(selfClosing ? "/>" : ">")"
    }

    private static func attributeText(_ attributes: [(String, String)]) -> String {
        attributes.map { " \($0.0)=\"\(escape($0.1))\"" }.joined()
    }
}

/// Numbers as the page prints them: a fixed number of digits for each kind of quantity, formatted
/// without a locale, so a page reads the same everywhere and two renders are byte-identical.
/// Values that are not finite print as a dash rather than "nan".
enum ReportNumber {
    /// A share as a percentage with one decimal: `0.97272` → `97.3 %`.
    static func percent(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return clean(String(format: "%.1f", value * 100)) + " %"
    }

    /// A change of a share in percentage points, signed: `-0.7727` → `−77.3 pts`.
    static func points(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        let text = clean(String(format: "%.1f", abs(value) * 100))
        return (text == "0.0" ? "±" : value < 0 ? "−" : "+") + text + " pts"
    }

    /// A score in [0, 1] (precision, recall, F1, AUC) with three decimals.
    static func score(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return clean(String(format: "%.3f", value))
    }

    /// A measured magnitude (L2, max |Δ|, a feature value) with four significant digits.
    static func magnitude(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        return clean(String(format: "%.4g", value))
    }

    /// A number as given in a policy or a parameter: the shortest `%g` form that reads back.
    static func plain(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        for digits in 1...17 {
            let text = String(format: "%.\(digits)g", value)
            if Double(text) == value { return clean(text) }
        }
        return String(format: "%.17g", value)
    }

    /// A count with thin-space thousands groups: `12345` → `12 345`.
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var grouped = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { grouped += "\u{2009}" }
            grouped.append(digit)
        }
        return (value < 0 ? "−" : "") + grouped
    }

    /// An SVG coordinate with one decimal (`12.0` → `12`); non-finite values are drawn at 0.
    static func coordinate(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        var text = clean(String(format: "%.1f", value))
        if text.hasSuffix(".0") { text.removeLast(2) }
        return text
    }

    /// No negative zero.
    private static func clean(_ text: String) -> String {
        text.hasPrefix("-") && text.dropFirst().allSatisfy { $0 == "0" || $0 == "." } ? String(text.dropFirst()) : text
    }
}
