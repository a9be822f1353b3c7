/// The page's look in one place: a small palette (before in slate, after in blue, the forgotten
/// classes in orange, members / non-members / forget samples in the histogram), and the style
/// sheet, inline in the page so it needs nothing else to open from disk or to print.
enum ReportStyle {
    static let ink = "#1d2433"
    static let muted = "#5b6475"
    static let grid = "#e3e7ee"
    static let axis = "#8a93a3"
    static let before = "#9aa5b8"
    static let after = "#1f5fa8"
    static let forgotten = "#c2410c"
    static let forgottenBand = "#fdf0e7"
    /// The forget data's spike-rate bars: before light, after dark, in the forgotten band's hue.
    static let forgetBefore = "#efb27f"
    static let forgetAfter = "#b8500f"
    static let members = "#1f5fa8"
    static let nonMembers = "#6b7280"
    static let forgetSamples = "#c2410c"

    /// The confusion matrix's scale: a share from 0 (paper) to 1 (deep blue), in RGB.
    static func sequential(_ share: Double) -> String {
        let t = share.isFinite ? min(max(share, 0), 1) : 0
        let low: [Double] = [0xF4, 0xF6, 0xFA], high: [Double] = [0x17, 0x3F, 0x7A]
        let channels = zip(low, high).map { UInt8(($0 + ($1 - $0) * t).rounded()) }
        return "#" + channels.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    static let css = """
        :root { color-scheme: light; }
        * { box-sizing: border-box; }
        body { margin: 0 auto; max-width: 1100px; padding: 36px 32px 48px; color: \(ink); background: #fff;
          font: 14px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", "Liberation Sans", sans-serif;
          -webkit-print-color-adjust: exact; print-color-adjust: exact; }
        header { border-bottom: 2px solid \(ink); padding-bottom: 14px; margin-bottom: 8px; }
        h1 { font-size: 24px; font-weight: 650; margin: 0 0 4px; letter-spacing: -0.01em; overflow-wrap: anywhere; }
        h2 { font-size: 17px; font-weight: 650; margin: 0 0 4px; }
        h3 { font-size: 14px; font-weight: 650; margin: 18px 0 6px; }
        p { margin: 4px 0 10px; }
        .sub { color: \(muted); margin: 0; }
        .lead { color: \(muted); margin: 0 0 14px; max-width: 78ch; }
        section { margin-top: 34px; break-inside: avoid; }
        code, .mono { font-family: "DejaVu Sans Mono", ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: 12.5px; }
        .digest { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 11px; color: \(muted); word-break: break-all; }
        .forgot { color: \(forgotten); font-weight: 650; }
        .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin: 18px 0 12px; }
        .cards.minor { margin-top: 0; }
        .cards.minor .card { padding: 8px 14px; }
        .cards.minor .card .value { font-size: 17px; }
        .cards.minor .card .value .from { font-size: 13px; }
        .card { border: 1px solid \(grid); border-radius: 8px; padding: 12px 14px; background: #fbfcfd; }
        .card .name { color: \(muted); font-size: 12.5px; }
        .card .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; white-space: nowrap; }
        .card .value .from { color: \(muted); font-weight: 500; font-size: 16px; }
        .card .delta, .card .policy { font-size: 12.5px; color: \(muted); font-variant-numeric: tabular-nums; }
        .banner { border-radius: 8px; padding: 10px 14px; margin: 10px 0; border: 1px solid; }
        .banner.ok { background: #edf7f1; border-color: #b7dfc6; color: #14532d; }
        .banner.bad { background: #fdeeee; border-color: #f2c4c4; color: #7f1d1d; }
        .banner.note { background: #f5f7fa; border-color: \(grid); color: \(muted); }
        .pass-ok { color: #1b7f4b; font-weight: 650; }
        .pass-bad { color: #b42318; font-weight: 650; }
        table { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0 4px; }
        th, td { padding: 4px 10px; border-bottom: 1px solid \(grid); text-align: left; vertical-align: top; }
        th { font-weight: 600; color: \(muted); font-size: 12.5px; border-bottom: 1px solid \(axis); }
        td.num, th.num { text-align: right; white-space: nowrap; }
        th.group { text-align: center; border-bottom: 1px solid \(grid); }
        .per-class .first { border-left: 1px solid \(grid); }
        tr.forgotten td { background: \(forgottenBand); }
        .figures { display: flex; flex-wrap: wrap; gap: 18px 28px; align-items: flex-start; }
        figure { margin: 0; break-inside: avoid; }
        figcaption { font-weight: 600; font-size: 13px; margin-bottom: 4px; }
        svg { display: block; max-width: 100%; height: auto; }
        svg text { font-family: system-ui, "DejaVu Sans", "Liberation Sans", sans-serif; font-size: 11px; fill: \(ink); }
        svg .tick { fill: \(muted); font-size: 10.5px; }
        svg .axis-label { fill: \(muted); font-size: 11.5px; }
        svg .forgot-label { fill: \(forgotten); font-weight: 700; }
        svg text.on-dark { fill: #ffffff; }
        svg .mono-label { font-family: "DejaVu Sans Mono", ui-monospace, monospace; font-size: 10.5px; }
        .legend { display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 12.5px; color: \(muted); margin: 2px 0 6px; }
        .swatch { display: inline-block; width: 11px; height: 11px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
        .chain { display: flex; flex-wrap: wrap; align-items: stretch; gap: 6px; margin: 6px 0; }
        .chain .step { border: 1px solid \(grid); border-radius: 6px; padding: 6px 10px; background: #fbfcfd; max-width: 300px; overflow-wrap: anywhere; }
        .chain .step.current { border-color: \(after); }
        .chain .arrow { align-self: center; color: \(muted); }
        .problems { color: #7f1d1d; margin: 4px 0; }
        footer { margin-top: 40px; padding-top: 12px; border-top: 1px solid \(grid); color: \(muted); font-size: 12px; }
        footer p { margin: 4px 0; max-width: 100ch; }
        footer ul { margin: 4px 0; padding-left: 18px; }
        table.files td.digest { white-space: nowrap; word-break: normal; }
        @media print {
          body { padding: 0; max-width: none; font-size: 12px; }
          section { margin-top: 22px; }
          #per-class, #provenance { break-inside: auto; }
          h2, h3, .lead, .legend { break-after: avoid; }
          tr, .card, .step { break-inside: avoid; }
          .figures.pair { flex-wrap: nowrap; }
          .figures.pair figure { flex: 1 1 0; min-width: 0; }
        }
        """
}
