import Evaluation
import Manifest
import Testing
@testable import Report

/// The page rendered from `KnownReport`, whose numbers are derived by hand there.
@Suite struct ReportRendererTests {
    @Test func chartsHaveOneElementPerClassAndPerForgottenClass() throws {
        let page = ReportRenderer.render(try KnownReport.model())
        // Two confusion matrices of 3 × 3 cells; the forgotten class's row outlined in each.
        #expect(page.occurrences(of: "class=\"cm-cell\"") == 2 * 9)
        #expect(page.occurrences(of: "class=\"cm-mark\"") == 2)
        // Accuracy bars: before and after for each of the 3 classes, the forgotten one banded.
        #expect(page.occurrences(of: "class=\"bar bar-before\"") == 3 && page.occurrences(of: "class=\"bar bar-after\"") == 3)
        #expect(page.occurrences(of: "class=\"band-forgotten\"") == 1)
        // One ROC chart for the one forgotten class: a curve before and one after.
        #expect(page.occurrences(of: "class=\"roc roc-before\"") == 1 && page.occurrences(of: "class=\"roc roc-after\"") == 1)
        // Membership histograms before and after: members, non-members, forget samples in each.
        for group in ["hist-members", "hist-nonmembers", "hist-forget"] { #expect(page.occurrences(of: "class=\"hist \(group)\"") == 2) }
        // Two tensors changed (the third changed no element): two bars.
        #expect(page.occurrences(of: "class=\"tensor-bar\"") == 2)
        // The forgotten class's row in the table, and its tick labels, are marked.
        #expect(page.occurrences(of: "<tr class=\"forgotten\">") == 1)
        #expect(page.contains("2 two (forgotten)"))
    }

    @Test func spikeRatesHaveABarPerLayerAndSeries() throws {
        var model = try KnownReport.model()
        #expect(!ReportRenderer.render(model).contains("id=\"spikes\""))  // not a spiking network: no section
        guard case .measured(var measurement) = model.metrics else { Issue.record("not measured"); return }
        measurement.spikeRates = [
            .init(layer: "lif1", neurons: 64, forgetBefore: 0.2, forgetAfter: 0.05, retainBefore: 0.18, retainAfter: 0.17),
            .init(layer: "lif2", neurons: 64, forgetBefore: 0.1, forgetAfter: 0.02, retainBefore: 0.09, retainAfter: 0.09),
            .init(layer: "out", neurons: 3, forgetBefore: 0.3, forgetAfter: 0, retainBefore: 0.25, retainAfter: 0.26),
        ]
        model.metrics = .measured(measurement)
        let page = ReportRenderer.render(model)
        for series in ["forget-before", "forget-after", "retain-before", "retain-after"] {
            #expect(page.occurrences(of: "class=\"bar bar-\(series)\"") == 3, "\(series)")
        }
        // The per-class accuracy bars are unchanged beside them; the axis tops at 50 % (the round
        // ceiling of 30 %), so 30 % is three fifths of the 200-pixel plot: 120 pixels high.
        #expect(page.occurrences(of: "class=\"bar bar-before\"") == 3 && page.occurrences(of: "class=\"bar bar-after\"") == 3)
        #expect(page.contains(">50 %</text>") && page.contains("height=\"120\""))
        #expect(page.contains("<title>layer out, forget data before: 30.0 %</title>"))
        #expect(page.contains("Neurons per layer: lif1 64, lif2 64, out 3."))
        // Without a model before the edit: the after bars only.
        measurement.spikeRates = measurement.spikeRates.map {
            .init(layer: $0.layer, neurons: $0.neurons, forgetBefore: nil, forgetAfter: $0.forgetAfter, retainBefore: nil, retainAfter: $0.retainAfter)
        }
        model.metrics = .measured(measurement)
        let afterOnly = ReportRenderer.render(model)
        #expect(afterOnly.occurrences(of: "class=\"bar bar-forget-before\"") == 0 && afterOnly.occurrences(of: "class=\"bar bar-retain-after\"") == 3)
    }

    @Test func confusionCellsCarryTheHandDerivedCounts() throws {
        let page = ReportRenderer.render(try KnownReport.model())
        // After: class 2's two samples went to classes 0 and 1, one each; none stayed.
        #expect(page.contains("<title>true 2 two, predicted 0 zero: 1 (50.0 % of class 2 two)</title>"))
        #expect(page.contains("<title>true 2 two, predicted 2 two: 0 (0.0 % of class 2 two)</title>"))
        // Before: both class-2 samples on the diagonal; one class-1 sample predicted as 0.
        #expect(page.contains("<title>true 2 two, predicted 2 two: 2 (100.0 % of class 2 two)</title>"))
        #expect(page.contains("<title>true 1 one&lt;&amp;&quot;, predicted 0 zero: 1 (50.0 % of class 1 one&lt;&amp;&quot;)</title>"))
        #expect(page.contains("<title>class 1 one&lt;&amp;&quot;, before: 50.0 %</title>"))
        #expect(page.contains("<title>class 2 two, after: 0.0 %</title>"))
    }

    @Test func numbersArePrintedWithFixedPrecision() throws {
        let page = ReportRenderer.render(try KnownReport.model())
        // Headline: forget 100 % → 0 %, retain 75 % → 100 %.
        #expect(page.contains("<span class=\"from\">100.0 % → </span>0.0 %"))
        #expect(page.contains("<span class=\"from\">75.0 % → </span>100.0 %"))
        #expect(page.contains("−100.0 pts") && page.contains("+25.0 pts"))
        // Table, class 0 after: precision 2/3, recall 1, F1 0.8, AUC 7/8; class 2: never predicted.
        let class0 = try #require(page.components(separatedBy: "<td>0 zero</td>").dropFirst().first?.components(separatedBy: "</tr>").first)
        #expect(class0.contains("<td class=\"num\">0.667</td>") && class0.contains("<td class=\"num\">0.800</td>")
            && class0.contains("<td class=\"num\">0.875</td>"), "\(class0)")
        // ROC of class 2: AUC 1 before, ¾ after; the after curve through (0,0) (0,½) (1,1) on a 220-pixel square at (48, 10).
        #expect(page.contains("AUC 1.000 → 0.750"))
        #expect(page.contains("d=\"M48 230 L48 120 L268 10\""))
    }

    @Test func policyClausesAreJudgedOneByOne() throws {
        let policy = try Requirement.parse("forget_acc<=0.01,retain_drop<=0.005,test_acc>1")
        let page = ReportRenderer.render(try KnownReport.model(policy: policy))
        #expect(page.contains("data-policy=\"not-met\""))
        #expect(page.contains("<span class=\"pass-ok\">forget_acc&lt;=0.01 ✓</span>"))
        // retain_drop = 0.75 − 1 = −0.25: holds, shown beside the retain accuracy.
        #expect(page.contains("<span class=\"pass-ok\">retain_drop&lt;=0.005 ✓</span>"))
        #expect(page.contains("<span class=\"pass-bad\">test_acc&gt;1 ✗</span>"))
        let met = ReportRenderer.render(try KnownReport.model(policy: try Requirement.parse("forget_acc<=0.01")))
        #expect(met.contains("data-policy=\"met\"") && met.contains("<strong>Policy met</strong>"))
    }

    @Test func theSamePageTwiceIsTheSameBytes() throws {
        let first = ReportRenderer.render(try KnownReport.model()), second = ReportRenderer.render(try KnownReport.model())
        #expect(first == second)
        #expect(Array(first.utf8) == Array(second.utf8))
    }

    @Test func thePageIsSelfContained() throws {
        let page = ReportRenderer.render(try KnownReport.model()).lowercased()
        #expect(!page.contains("<script") && !page.contains("javascript:") && !page.contains(" on"  + "load="))
        #expect(!page.contains("http:") && !page.contains("https:") && !page.contains("src=") && !page.contains("<link"))
        #expect(!page.contains("@import") && !page.contains("url("))
        // The browser is told so too: nothing may be loaded, inline style only.
        #expect(page.contains("content=\"default-src 'none'; style-src 'unsafe-inline'\""))
    }

    @Test func namesAreEscaped() throws {
        let page = ReportRenderer.render(try KnownReport.model())
        // The model path, a class name, a tensor name and an output name hold < & and ".
        for raw in ["out<&\">.h5", "one<&\"", "kernel<&\">"] { #expect(!page.contains(raw), "\(raw)") }
        #expect(page.contains("models/out&lt;&amp;&quot;&gt;.h5"))
        #expect(page.contains("dense_1/kernel&lt;&amp;&quot;&gt;"))
        #expect(page.contains("<title>Forgetting report: out&lt;&amp;&quot;&gt;.h5</title>"))
        #expect(Markup.escape("a<b>&\"c'\u{7}") == "a&lt;b&gt;&amp;&quot;c&#39;\u{FFFD}")
    }

    @Test func withoutMetricsThePageSaysWhyAndShowsWhatWasDone() throws {
        var model = try KnownReport.model()
        model.metrics = .notMeasured("the engine cannot run x.safetensors: no model_config")
        let page = ReportRenderer.render(model)
        #expect(page.contains("No metrics are shown. </strong>the engine cannot run x.safetensors: no model_config"))
        #expect(page.occurrences(of: "cm-cell") == 0 && page.occurrences(of: "class=\"bar ") == 0)
        #expect(page.contains("<code>dampen:0.01</code>") && page.contains("alpha = 0.01") && page.contains("data-signature=\"verified\""))
        #expect(page.contains(String(repeating: "cd", count: 32)))
    }

    @Test func withoutAModelBeforeOnlyTheEditedOneIsDrawn() throws {
        let page = ReportRenderer.render(try KnownReport.model(before: nil))
        #expect(page.occurrences(of: "class=\"cm-cell\"") == 9 && page.occurrences(of: "class=\"bar bar-after\"") == 3)
        #expect(page.occurrences(of: "class=\"bar bar-before\"") == 0 && page.occurrences(of: "roc-before") == 0)
        #expect(page.occurrences(of: "class=\"hist ") == 3)
    }
}

/// A record may come from anywhere: fields of the wrong kind, classes out of range, huge numbers.
@Suite struct HostileRecordTests {
    @Test func oddFieldsRenderWithoutTrapping() throws {
        let payload = """
            {"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"https://ckptforget.dev/attestation/forgetting/v1",
             "predicate":{"tool":"x","time":5,"inputs":[{"role":7}],"target":{"classes":[-1,99,"a"]},
              "passes":[{"spec":"<b>","parameters":{"n":3,"o":{"p":null}},
                         "tensors":[{"tensor":"t","elements_changed":-5,"l2":"x","max_abs":1e308},{"tensor":"u","elements_changed":9,"l2":1e308}]},
                        {"parameters":[1]}],
              "optimizer_state":"gone","evaluation":{"before":{"forget_acc":"high"},"require":["forget_acc<=x",1]},"warnings":[1,"w"]}}
            """
        let statement = try Statement(payload: Array(payload.utf8), path: "r.json")
        let provenance = Provenance(statement: statement, record: "r.json", signature: .init(state: .failed, summary: "bad", problems: ["<x>"]))
        #expect(provenance.classes == [-1, 99] && provenance.passes.count == 2 && provenance.recordedPolicy == ["forget_acc<=x"])
        var model = try KnownReport.model()
        model.provenance = provenance
        model.forgetClasses = [-1, 2, 7]
        let page = ReportRenderer.render(model)
        #expect(page.contains("classes -1, 99") && page.contains("<code>&lt;b&gt;</code>") && page.contains("n = 3"))
        #expect(page.contains("−5 changed") == false && page.occurrences(of: "class=\"tensor-bar\"") == 1)
        #expect(page.occurrences(of: "class=\"cm-mark\"") == 2 && page.contains("<li>&lt;x&gt;</li>"))
    }
}

@Suite struct ReportNumberTests {
    @Test func fixedFormats() {
        #expect(ReportNumber.percent(0.97272) == "97.3 %" && ReportNumber.percent(-0.0) == "0.0 %" && ReportNumber.percent(.nan) == "–")
        #expect(ReportNumber.points(-0.7727) == "−77.3 pts" && ReportNumber.points(0.00001) == "±0.0 pts")
        #expect(ReportNumber.score(2.0 / 3) == "0.667" && ReportNumber.magnitude(0.000123456) == "0.0001235")
        #expect(ReportNumber.plain(0.005) == "0.005" && ReportNumber.plain(0.1) == "0.1" && ReportNumber.plain(1) == "1")
        #expect(ReportNumber.count(1234567) == "1\u{2009}234\u{2009}567" && ReportNumber.count(999) == "999")
        #expect(ReportNumber.coordinate(12.04) == "12" && ReportNumber.coordinate(-0.01) == "0" && ReportNumber.coordinate(.infinity) == "0")
    }

    @Test func histogramBinsTakeEveryFiniteValueOnce() {
        // Range [0, 1] in 4 bins: 0 and 0.2 in the first, 0.5 in the third, 1 (the upper edge) in the last; NaN is left out.
        #expect(SVGHistogram.shares([0, 0.2, 0.5, 1, .nan], range: 0...1, bins: 4) == [0.5, 0, 0.25, 0.25])
        #expect(SVGHistogram.shares([], range: 0...1, bins: 2) == [0, 0])
        // From 0 to a round number at or above the largest finite value; a negative smallest value kept.
        #expect(SVGHistogram.range(of: [[1.7, 0.2], [.infinity]]) == 0...2 && SVGHistogram.range(of: [[-0.5, 0.3]]) == -0.5...0.5)
        #expect(SVGHistogram.range(of: [[0, 0]]) == 0...1 && SVGHistogram.range(of: []) == 0...1)
        #expect(SVG.niceTickCount(0.5) == 5 && SVG.niceTickCount(0.2) == 4 && SVG.niceTickCount(25) == 5)
        #expect(SVG.niceCeiling(0.37) == 0.5 && SVG.niceCeiling(0.13) == 0.2 && SVG.niceCeiling(0) == 1)
    }
}
