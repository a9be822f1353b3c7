import Foundation
import Testing

/// `ckptforget report` and `--report` on a forgetting run, end to end on the bundled MNIST model
/// and data; the page's numbers are checked against `eval`, which measures them its own way.
@Suite struct ReportCommandTests {
    static let model = Run.fixture("keras/mnist_mlp.h5")
    static let data = Run.fixture("engine/test_data.h5") + ":x_flat,y"
    static let heldOut = Run.fixture("engine/mnist_head.idx3-ubyte.gz") + ":" + Run.fixture("engine/mnist_head.idx1-ubyte.gz")
    static let key = Run.fixture("signing/p256.pem"), publicKey = Run.fixture("signing/p256.pub.pem")

    /// The bundled model with class 2 dampened, signed, in `scratch` as out.h5.
    static func forget(in scratch: Scratch, _ extra: String...) throws -> Run {
        try Run.run(Run.binary, [model, "-p", "dampen:0.01", "-c", "2", "--data", data, "--test-data", heldOut, "--scale", "1/255", "-q",
                                 "--sign-key", key, "-o", scratch.file("out.h5")] + extra)
    }

    @Test func reportShowsTheMetricsEvalMeasuresAndTheVerifiedRecord() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(try Self.forget(in: scratch).status == 0)
        let run = try Run.ckptforget("report", scratch.file("out.h5"), "--before", Self.model, "--data", Self.data, "--test-data", Self.heldOut,
                                     "--scale", "1/255", "--key", Self.publicKey, "-o", scratch.file("report.html"))
        // No --require and none kept by the record: no policy to report.
        #expect(run.status == 0 && run.stderr == "wrote \(scratch.file("report.html")) (record verified)\n", "\(run.stderr)")
        let page = try String(contentsOfFile: scratch.file("report.html"), encoding: .utf8)

        // Without --class, the classes the record names; 10 classes, class 2 marked.
        #expect(page.occurrences(of: "class=\"cm-cell\"") == 2 * 100 && page.occurrences(of: "class=\"cm-mark\"") == 2)
        #expect(page.occurrences(of: "class=\"bar bar-before\"") == 10 && page.occurrences(of: "class=\"bar bar-after\"") == 10)
        #expect(page.occurrences(of: "class=\"roc roc-after\"") == 1)
        #expect(page.contains("data-signature=\"verified\"") && page.contains("<code>dampen:0.01</code>"))

        // The headline agrees with eval on both models (forget 17/22 → 0, retain 171/178), and so
        // does the row of class 2 in each confusion matrix, cell by cell.
        let halves = page.components(separatedBy: "<figcaption>After the edit</figcaption>")
        let matrices = [try #require(halves.first?.components(separatedBy: "<figcaption>Before the edit</figcaption>").last),
                        try #require(halves.last?.components(separatedBy: "</figure>").first)]
        for (which, (file, marker)) in [(Self.model, "<span class=\"from\">"), (scratch.file("out.h5"), "</span>")].enumerated() {
            let eval = try Run.ckptforget("eval", file, "--data", Self.data, "--scale", "1/255", "-c", "2", "--json")
            let splits = try #require((try JSONSerialization.jsonObject(with: Data(eval.stdout.utf8)) as? [String: Any])?["splits"] as? [String: [String: Any]])
            for split in ["forget", "retain"] {
                let accuracy = try #require(splits[split]?["accuracy"] as? Double)
                let card = try #require(page.components(separatedBy: "data-metric=\"\(split)_acc\"").dropFirst().first?.components(separatedBy: "class=\"delta\"").first)
                #expect(card.contains(marker + String(format: "%.1f %%", accuracy * 100)), "\(split) of \(file): \(card)")
            }
            let confusion = try #require((splits["all"]?["confusion"] as? [[Int]])?[2])
            for (column, count) in confusion.enumerated() {
                #expect(matrices[which].contains("<title>true 2, predicted \(column): \(count) ("), "\(file): class 2 predicted \(column) \(count) times")
            }
        }
    }

    @Test func theSameInputsGiveTheSameBytes() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(try Self.forget(in: scratch).status == 0)
        for name in ["a.html", "b.html"] {
            let run = try Run.ckptforget("report", scratch.file("out.h5"), "--before", Self.model, "--data", Self.data, "--test-data", Self.heldOut,
                                         "--scale", "1/255", "-q", "-o", scratch.file(name))
            #expect(run.status == 0 && run.stderr.isEmpty, "\(run.stderr)")
        }
        let (a, b) = (try Data(contentsOf: URL(fileURLWithPath: scratch.file("a.html"))), try Data(contentsOf: URL(fileURLWithPath: scratch.file("b.html"))))
        #expect(a == b && a.count > 10_000)
    }

    @Test func forgetWithReportCommitsThePageWithTheModelOrNotAtAll() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let ok = try Self.forget(in: scratch, "--report", scratch.file("page.html"), "--require", "forget_acc<=0.01")
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(scratch.contents == ["out.h5", "out.h5.manifest.json", "out.h5.sig", "page.html"])
        let page = try String(contentsOfFile: scratch.file("page.html"), encoding: .utf8)
        #expect(page.contains("data-policy=\"met\"") && page.contains("<span class=\"pass-ok\">forget_acc&lt;=0.01 ✓</span>"))
        #expect(page.occurrences(of: "class=\"cm-cell\"") == 200 && page.occurrences(of: "class=\"hist hist-members\"") == 2)
        #expect(page.contains("Signed by this run with \(Self.key)"))
        // The page shows the attestation the run wrote: the same tensors, the same record.
        #expect(page.contains("output/kernel") && page.contains("out.h5.manifest.json"))

        // A policy not met writes nothing: no model, no records, no page.
        let strict = try Scratch()
        defer { strict.remove() }
        let refused = try Self.forget(in: strict, "--report", strict.file("page.html"), "--require", "retain_acc>=0.99")
        #expect(refused.status == 4 && strict.contents.isEmpty, "\(refused.stderr) \(strict.contents)")
        // A dry run writes nothing, so it takes no page; the page may not overwrite an input.
        let dry = try Run.ckptforget(Self.model, "-p", "zero", "-c", "2", "--dry-run", "--report", strict.file("page.html"))
        #expect(dry.status == 2 && dry.stderr.contains("--report writes a page with the output, and --dry-run writes nothing"), "\(dry.stderr)")
        let over = try Run.ckptforget(Self.model, "-p", "zero", "-c", "2", "-o", strict.file("x.h5"), "--report", Self.model)
        #expect(over.status == 2 && over.stderr.contains("it is the input or another file this run reads") && strict.contents.isEmpty, "\(over.stderr)")
    }

    /// Two edits in a row: the page of the second shows the chain back to the original, and a
    /// parent record changed since is named, not read.
    @Test func theLineageFollowsEachRecordsParent() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(try Self.forget(in: scratch).status == 0)
        let second = try Run.ckptforget(scratch.file("out.h5"), "-p", "zero", "-c", "5", "-q", "--sign-key", Self.key, "-o", scratch.file("out2.h5"))
        #expect(second.status == 0, "\(second.stderr)")
        func lineage() throws -> String {
            let run = try Run.ckptforget("report", scratch.file("out2.h5"), "-q", "-o", scratch.file("r.html"))
            #expect(run.status == 0, "\(run.stderr)")
            let page = try String(contentsOfFile: scratch.file("r.html"), encoding: .utf8)
            return try #require(page.components(separatedBy: "<h3>Lineage</h3>").last?.components(separatedBy: "</section>").first)
        }
        let chain = try lineage()
        #expect(chain.occurrences(of: "class=\"step") == 3 && chain.occurrences(of: "class=\"arrow\"") == 2, "\(chain)")
        #expect(chain.contains("<strong>dampen:0.01</strong><br>class 2") && chain.contains("<strong>zero</strong><br>class 5"))
        #expect(chain.contains("mnist_mlp.h5") && !chain.contains("problems"))

        var record = try Data(contentsOf: URL(fileURLWithPath: scratch.file("out.h5.manifest.json")))
        record.append(contentsOf: Array(" ".utf8))
        try record.write(to: URL(fileURLWithPath: scratch.file("out.h5.manifest.json")))
        let broken = try lineage()
        #expect(broken.contains("the parent record changed: its child recorded sha256") && !broken.contains("dampen:0.01"), "\(broken)")
    }

    @Test func aModelTheEngineCannotRunGetsAPageSayingWhy() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        #expect(try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "-p", "zero", "-c", "1", "-q", "-o", scratch.file("m.safetensors")).status == 0)
        let run = try Run.ckptforget("report", scratch.file("m.safetensors"), "--data", Self.data, "--scale", "1/255", "-o", scratch.file("r.html"))
        #expect(run.status == 0 && run.stderr.contains("no metrics: the engine cannot run the model: ") && run.stderr.contains("no Keras model_config"),
                "\(run.stderr)")
        let page = try String(contentsOfFile: scratch.file("r.html"), encoding: .utf8)
        #expect(page.contains("No metrics are shown.") && page.occurrences(of: "cm-cell") == 0)
        // What was done is still there, from the record (unsigned, so not verified).
        #expect(page.contains("<code>zero</code>") && page.contains("The record carries no signature.") && page.contains("fc2.weight"))
        // No record and no data: a page that says both.
        let bare = try Run.ckptforget("report", Self.model, "-o", scratch.file("bare.html"))
        let text = try String(contentsOfFile: scratch.file("bare.html"), encoding: .utf8)
        #expect(bare.status == 0 && text.contains("no data was given") && text.contains("No forgetting attestation beside the model"), "\(bare.stderr)")
    }

    @Test func badInputExitsTwoAndWritesNothing() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let cases: [([String], String)] = [
            (["report", Self.model, "--data", scratch.file("missing.h5"), "-c", "2", "-o", scratch.file("r.html")], "missing.h5"),
            (["report", Self.model, "-c", "2"], "no output given: -o REPORT.html"),
            (["report", Self.model, "--before", Self.model, "-o", scratch.file("r.html")], "--before is measured on the data"),
            (["report", Self.model, "--data", Self.data, "-o", scratch.file("r.html")], "say what to forget: --class C or --forget-ids FILE"),
            (["report", Self.model, "--data", Self.data, "-c", "12", "-o", scratch.file("r.html")], "--class 12 is out of range"),
            (["report", Self.model, "--record", scratch.file("none.json"), "-o", scratch.file("r.html")], "none.json"),
            (["report", Self.model, "-o", Self.model], "it is the input or another file this run reads"),
            (["report", Self.model, "--steps", "5", "-o", scratch.file("r.html")], "apply to spiking networks"),
        ]
        for (arguments, message) in cases {
            let run = try Run.run(Run.binary, arguments)
            #expect(run.status == 2 && run.stderr.contains(message), "\(arguments): \(run.status) \(run.stderr)")
        }
        #expect(scratch.contents.isEmpty)
        let help = try Run.ckptforget("help", "report")
        #expect(help.status == 0 && help.stdout.contains("usage: ckptforget report MODEL") && help.stdout.contains("--record RECORD"))
        #expect(try Run.ckptforget("--help").stdout.contains("ckptforget report MODEL"))
    }

    /// A spiking network's page has a bar per spiking layer for the forget and the retain data,
    /// before and after; the rates are the spike counts `stats` writes, per step.
    @Test func aSpikingNetworksPageShowsSpikeRatesPerLayer() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget("report", Run.fixture("spiking/snn_post.nir"), "--before", Run.fixture("spiking/snn_pre.nir"),
                                     "--data", Run.fixture("spiking/snn_spikes.h5") + ":input,labels", "--encoding", "spikes", "--class", "2",
                                     "-o", scratch.file("r.html"))
        #expect(run.status == 0, "\(run.stderr)")
        let page = try String(contentsOfFile: scratch.file("r.html"), encoding: .utf8)
        #expect(page.occurrences(of: "<section id=\"spikes\">") == 1)
        // Three spiking layers (nodes 1, 3 and 5 of the graph), four bars each.
        for series in ["forget-before", "forget-after", "retain-before", "retain-after"] {
            #expect(page.occurrences(of: "class=\"bar bar-\(series)\"") == 3, "\(series)")
        }
        // After: the mean of stats' spikes/forget/N/rate for this model and data (35.92 %, 12.54 %, 4 %).
        for (layer, rate) in [("1", "35.9 %"), ("3", "12.5 %"), ("5", "4.0 %")] {
            #expect(page.contains("<title>layer \(layer), forget data after: \(rate)</title>"), "\(layer)")
        }
        // A forgetting run's --report page draws the same bars, measured on the run's own data:
        // the `report` of the file it wrote, with its input as --before, gives the same figures.
        let forgetRun = try Run.ckptforget(Run.fixture("spiking/snn_post.nir"), "--data", Run.fixture("spiking/snn_spikes.h5") + ":input,labels",
                                           "--encoding", "spikes", "--class", "2", "--pass", "threshold:gamma=0.5,iters=3", "--no-sign",
                                           "-o", scratch.file("out.nir"), "--report", scratch.file("run.html"))
        #expect(forgetRun.status == 0, "\(forgetRun.stderr)")
        let runPage = try String(contentsOfFile: scratch.file("run.html"), encoding: .utf8)
        let reread = try Run.ckptforget("report", scratch.file("out.nir"), "--before", Run.fixture("spiking/snn_post.nir"),
                                        "--data", Run.fixture("spiking/snn_spikes.h5") + ":input,labels", "--encoding", "spikes", "--class", "2",
                                        "-o", scratch.file("reread.html"))
        #expect(reread.status == 0, "\(reread.stderr)")
        let rereadPage = try String(contentsOfFile: scratch.file("reread.html"), encoding: .utf8)
        func spikeTitles(_ page: String) -> [String] {
            page.components(separatedBy: "<title>layer ").dropFirst().compactMap { $0.components(separatedBy: "</title>").first }
        }
        #expect(runPage.occurrences(of: "<section id=\"spikes\">") == 1)
        for series in ["forget-before", "forget-after", "retain-before", "retain-after"] {
            #expect(runPage.occurrences(of: "class=\"bar bar-\(series)\"") == 3, "\(series)")
        }
        #expect(spikeTitles(runPage).count == 12 && spikeTitles(runPage) == spikeTitles(rereadPage), "\(spikeTitles(runPage)) vs \(spikeTitles(rereadPage))")
        // A Keras model's page has no such section.
        let keras = try Run.ckptforget("report", Self.model, "--data", Self.data, "--scale", "1/255", "--class", "2", "-o", scratch.file("k.html"))
        let kerasPage = try String(contentsOfFile: scratch.file("k.html"), encoding: .utf8)
        #expect(keras.status == 0 && !kerasPage.contains("id=\"spikes\""), "\(keras.stderr)")
    }
}

extension String {
    /// How many times `needle` occurs (without overlaps).
    func occurrences(of needle: String) -> Int {
        components(separatedBy: needle).count - 1
    }
}
