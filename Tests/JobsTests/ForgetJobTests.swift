import Checkpoint
import Engine
import Forgetting
import Foundation
import Jobs
import Testing

/// A labelled data set in memory that counts how often it is read.
final class CountingData: LabeledData, @unchecked Sendable {
    let path = "counting"
    let count: Int
    let sampleShape: [Int]
    private let x: [Float], y: [Int]
    private(set) var reads = 0

    init(reading source: any LabeledData) throws {
        (x, y) = try source.batch(0..<source.count)
        count = source.count
        sampleShape = source.sampleShape
    }

    func batch(_ range: Range<Int>) throws -> (x: [Float], y: [Int]) {
        reads += 1
        let width = sampleShape.reduce(1, *)
        return (Array(x[(range.lowerBound * width)..<(range.upperBound * width)]), Array(y[range]))
    }

    func labelsOnly(_ range: Range<Int>) throws -> (Void, [Int]) {
        reads += 1
        return ((), Array(y[range]))
    }
}

@Suite struct ForgetJobTests {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    static func request(output: String?, dryRun: Bool, data: CountingData) throws -> ForgetRequest {
        ForgetRequest(input: fixtures + "/keras/mnist_mlp.h5", output: output, passes: [try PassSpec(parsing: "ssd:alpha=1")],
                      target: ForgetTarget(classes: [2]), data: DataSelection(data: data, classes: [2], scale: 1 / 255),
                      dryRun: dryRun, toolVersion: "test")
    }

    /// A dry run of an `ssd` run with data prints its plan without running the model: the data is
    /// never read. The same request run for real reads it (so the count would show engine work).
    @Test func aDryRunDoesNoEngineWork() throws {
        let data = try CountingData(reading: DataSource.open(Self.fixtures + "/engine/test_data.h5:x_flat,y"))
        guard case .planned(let plan, _) = try ForgetJob.run(try Self.request(output: nil, dryRun: true, data: data)) else {
            Issue.record("a dry run wrote something")
            return
        }
        #expect(data.reads == 0)
        #expect(plan.needsStatisticsFromData && plan.steps.count == 1 && plan.steps[0].tensors.count == 4)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("job-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        guard case .written(let report, _, let before, let after) = try ForgetJob.run(try Self.request(output: directory + "/out.h5", dryRun: false, data: data)) else {
            Issue.record("the run did not write")
            return
        }
        #expect(data.reads > 0)
        #expect(report.passes[0].changed.count > 0)
        #expect(before?.forget != nil && after?.forget != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["out.h5"])
    }
}
