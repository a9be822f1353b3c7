/// The few SVG shapes the charts draw, as markup with coordinates formatted by `ReportNumber`
/// (one decimal, no locale). Every chart is an `<svg>` inline in the HTML, with a view box, a pixel
/// size that CSS may scale down, and an accessible name; inline SVG needs no namespace attribute
/// (the HTML parser gives it its namespace), so the page names no URL at all.
enum SVG {
    static func document(width: Double, height: Double, label: String, _ content: [String]) -> String {
        let (w, h) = (ReportNumber.coordinate(width), ReportNumber.coordinate(height))
        return Markup.element("svg", [("viewBox", "0 0 \(w) \(h)"), ("width", w), ("height", h),
                                      ("role", "img"), ("aria-label", label)], "\n" + content.joined(separator: "\n") + "\n")
    }

    static func rect(x: Double, y: Double, width: Double, height: Double, _ attributes: [(String, String)], title: String? = nil) -> String {
        let geometry = [("x", x), ("y", y), ("width", max(width, 0)), ("height", max(height, 0))].map { ($0.0, ReportNumber.coordinate($0.1)) }
        return shape("rect", geometry + attributes, title: title)
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ attributes: [(String, String)]) -> String {
        shape("line", [("x1", x1), ("y1", y1), ("x2", x2), ("y2", y2)].map { ($0.0, ReportNumber.coordinate($0.1)) } + attributes)
    }

    /// A polyline through `points` as a path (`M x y L x y ...`).
    static func path(_ points: [(x: Double, y: Double)], _ attributes: [(String, String)], closed: Bool = false, title: String? = nil) -> String {
        let d = points.enumerated().map { index, point in
            (index == 0 ? "M" : "L") + ReportNumber.coordinate(point.x) + " " + ReportNumber.coordinate(point.y)
        }.joined(separator: " ") + (closed ? " Z" : "")
        return shape("path", [("d", d)] + attributes, title: title)
    }

    /// Text at (x, y); `anchor` is start, middle or end.
    static func text(_ content: String, x: Double, y: Double, anchor: String = "start", _ attributes: [(String, String)] = []) -> String {
        Markup.text("text", [("x", ReportNumber.coordinate(x)), ("y", ReportNumber.coordinate(y))]
            + (anchor == "start" ? [] : [("text-anchor", anchor)]) + attributes, content)
    }

    /// Text turned a quarter to the left around (x, y), for a vertical axis's name.
    static func verticalText(_ content: String, x: Double, y: Double, _ attributes: [(String, String)] = []) -> String {
        let (cx, cy) = (ReportNumber.coordinate(x), ReportNumber.coordinate(y))
        return Markup.text("text", [("x", cx), ("y", cy), ("text-anchor", "middle"), ("transform", "rotate(-90 \(cx) \(cy))")] + attributes, content)
    }

    /// A shape, with a `<title>` child (the browser's tooltip) when given.
    private static func shape(_ name: String, _ attributes: [(String, String)], title: String? = nil) -> String {
        guard let title else { return Markup.empty(name, attributes, selfClosing: true) }
        return Markup.element(name, attributes, Markup.text("title", [], title))
    }

    /// Tick values for an axis from 0 to `top`: 0 and `count` equal steps.
    static func ticks(upTo top: Double, count: Int) -> [Double] {
        (0...max(count, 1)).map { top * Double($0) / Double(max(count, 1)) }
    }

    /// How many steps divide `top` (a `niceCeiling`) into round ticks: 1 and 5 in fifths, 2 in
    /// quarters, 2.5 in fifths (times a power of ten).
    static func niceTickCount(_ top: Double) -> Int {
        guard top.isFinite, top > 0 else { return 4 }
        var leading = top
        while leading >= 10 { leading /= 10 }
        while leading < 1 { leading *= 10 }
        return abs(leading - 2) < 1e-9 ? 4 : 5
    }

    /// A round upper bound for a positive maximum (1, 2, 2.5 or 5 times a power of ten), so an
    /// axis's ticks are round numbers; 1 for anything not positive and finite.
    static func niceCeiling(_ value: Double) -> Double {
        guard value.isFinite, value > 0 else { return 1 }
        var power = 1.0
        while power * 10 <= value { power *= 10 }
        while power > value { power /= 10 }
        for step in [1.0, 2.0, 2.5, 5.0, 10.0] where step * power >= value { return step * power }
        return 10 * power
    }
}
