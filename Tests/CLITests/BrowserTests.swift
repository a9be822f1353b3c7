import Foundation
import Testing

/// The report page in a real browser: Debian's headless Chromium (installed by `make deps`) draws
/// it, and the screenshot must show the charts; the DOM it parsed must hold the expected SVG
/// elements; and loading it must request nothing from the network and run nothing. The browser
/// itself is kept off the network (every host name resolves to nothing) and from its own
/// background traffic, and gets a throwaway profile.
@Suite(.serialized) struct BrowserTests {
    static let chromium = "/usr/bin/chromium"

    /// Runs Chromium headless on `page` with `arguments` added; fails the test, naming the fix,
    /// when it is not installed.
    static func chromium(_ arguments: [String], page: String, scratch: Scratch) throws -> Run {
        try #require(FileManager.default.isExecutableFile(atPath: chromium),
                     "\(chromium) is missing: run `make deps` (it installs Debian's chromium package, which this test needs)")
        return try Run.run(chromium, [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--no-default-browser-check",
            "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-default-apps",
            "--disable-extensions", "--host-resolver-rules=MAP * ~NOTFOUND", "--user-data-dir=\(scratch.file("profile"))",
        ] + arguments + [URL(fileURLWithPath: page).absoluteString])
    }

    /// A report of the bundled model forgetting class 2, written by `--report` on the forgetting run.
    static func page(in scratch: Scratch) throws -> String {
        let run = try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "dampen:0.01", "-c", "2", "--data", ReportCommandTests.data,
                                     "--test-data", ReportCommandTests.heldOut, "--scale", "1/255", "-q", "-o", scratch.file("out.h5"),
                                     "--report", scratch.file("report.html"))
        #expect(run.status == 0, "\(run.stderr)")
        return scratch.file("report.html")
    }

    @Test func theScreenshotShowsTheChartsAndTheDOMHoldsThem() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let page = try Self.page(in: scratch)
        let shot = try Self.chromium(["--window-size=1200,3600", "--screenshot=\(scratch.file("shot.png"))"], page: page, scratch: scratch)
        let image = try PNGImage(path: scratch.file("shot.png"))
        #expect(image.width == 1200 && image.height == 3600, "\(shot.stderr)")
        // Not blank: a good share of the page is ink, and the palette's colours are drawn (the
        // after bars and dark matrix cells in blue, the forgotten class's outlines in orange).
        let white = image.count(near: 0xFFFFFF, tolerance: 3)
        #expect(Double(image.pixelCount - white) / Double(image.pixelCount) > 0.05, "only \(image.pixelCount - white) pixels are not white")
        #expect(image.count(near: 0x1F5FA8) > 5_000, "the blue of the after bars is missing")
        #expect(image.count(near: 0xC2410C) > 500, "the orange of the forgotten class is missing")

        // The DOM the browser built: 10 classes, class 2 forgotten.
        let dom = try Self.chromium(["--dump-dom"], page: page, scratch: scratch).stdout
        #expect(dom.occurrences(of: "class=\"cm-cell\"") == 2 * 100)
        #expect(dom.occurrences(of: "class=\"cm-mark\"") == 2)
        #expect(dom.occurrences(of: "class=\"bar bar-before\"") == 10 && dom.occurrences(of: "class=\"bar bar-after\"") == 10)
        #expect(dom.occurrences(of: "class=\"roc roc-after\"") == 1 && dom.occurrences(of: "class=\"roc roc-before\"") == 1)
        #expect(dom.occurrences(of: "class=\"hist hist-forget\"") == 2)
        #expect(dom.occurrences(of: "<svg") == 2 + 1 + 1 + 2 + 1)  // matrices, bars, ROC, histograms, tensor changes
    }

    @Test func thePageLoadsWithNoRequestAndNoScript() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let page = try Self.page(in: scratch)
        let loaded = try Self.loading(page, scratch: scratch)
        #expect(loaded.requests.isEmpty, "the page requested \(loaded.requests)")
        #expect(loaded.blocked.isEmpty, "the browser blocked \(loaded.blocked)")
        #expect(!loaded.dom.contains("<script") && loaded.dom.contains("</svg>"))

        // The check is not vacuous: a page that loads an image and runs a script is caught, by the
        // network log without a policy and by the policy's report with one.
        let fetching = try scratch.write(Array("<!DOCTYPE html><html><body><img src=\"https://report-test.invalid/a.png\"></body></html>".utf8), to: "fetch.html")
        #expect(try Self.loading(fetching, scratch: scratch).requests == ["https://report-test.invalid/a.png"])
        let policy = String(try String(contentsOfFile: page, encoding: .utf8).split(separator: "\n").first { $0.contains("Content-Security-Policy") } ?? "")
        let scripted = try scratch.write(Array("<!DOCTYPE html><html><head>\(policy)</head><body><script>document.title = 'x'</script></body></html>".utf8),
                                         to: "script.html")
        #expect(try Self.loading(scripted, scratch: scratch).blocked.count == 1)
    }

    /// Loads `page`, recording the network log: the URLs the page itself asked for (the browser's
    /// own requests are not the page's), the console's Content-Security-Policy refusals, and the DOM.
    static func loading(_ page: String, scratch: Scratch) throws -> (requests: [String], blocked: [String], dom: String) {
        let log = scratch.file("net-\(UUID().uuidString).json")
        let run = try chromium(["--log-net-log=\(log)", "--enable-logging=stderr", "--v=0", "--dump-dom"], page: page, scratch: scratch)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: log))) as? [String: Any])
        let events = json["events"] as? [[String: Any]] ?? []
        var requests: [String] = []
        for event in events {
            guard let parameters = event["params"] as? [String: Any], let url = parameters["url"] as? String, !url.hasPrefix("file:") else { continue }
            // A request a file:// page makes carries an opaque ("null") initiator and the file origin as its isolation key.
            let fromPage = parameters["initiator"] as? String == "null" || (parameters["network_isolation_key"] as? String ?? "").hasPrefix("file://")
            if fromPage, !requests.contains(url) { requests.append(url) }
        }
        let blocked = run.stderr.split(separator: "\n").filter { $0.contains("CONSOLE") && $0.contains("Content Security Policy") }.map(String.init)
        return (requests, blocked, run.stdout)
    }
}
