import Foundation
import Testing

@Suite struct InspectCommandTests {
    @Test func tableMarksTheOutputLayer() throws {
        let run = try Run.ckptforget("inspect", Run.fixture("keras/mnist_mlp.h5"))
        #expect(run.status == 0 && run.stderr.isEmpty)
        let lines = run.stdout.split(separator: "\n")
        #expect(lines[0].hasSuffix("HDF5, keras-h5 layout, 14 tensors, 298.2 KiB"))
        #expect(lines[1] == "output layer: output (10 classes), marked *")
        let marked = lines.filter { $0.hasPrefix("* ") }.map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(marked.map { $0[1] } == ["model_weights/output/mnist_mlp/output/bias", "model_weights/output/mnist_mlp/output/kernel"])
        #expect(marked.map { $0.last! } == ["bias", "kernel"])
        #expect(lines.contains { $0.contains("optimizer_weights/adam/iteration") && $0.contains(" i32 ") && $0.hasSuffix("optimizer") })
    }

    @Test func jsonListsEveryTensor() throws {
        let run = try Run.ckptforget("inspect", "--json", Run.fixture("safetensors/mlp_bf16.safetensors"))
        #expect(run.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(object["format"] as? String == "safetensors")
        #expect(object["output_layer"] as? String == "fc2")
        let tensors = try #require(object["tensors"] as? [[String: Any]])
        #expect(tensors.count == 5)
        let weight = try #require(tensors.first { $0["name"] as? String == "fc2.weight" })
        #expect(weight["dtype"] as? String == "BF16" && weight["shape"] as? [Int] == [10, 32])
        #expect(weight["role"] as? String == "kernel" && weight["class_axis"] as? Int == 0 && weight["output"] as? Bool == true)
        let counter = try #require(tensors.first { $0["name"] as? String == "fc1.num_batches_tracked" })
        #expect(counter["editable"] as? Bool == false && counter["output"] as? Bool == false)
    }

    @Test func ambiguousOutputLayerIsReportedNotFatal() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let header = #"{"a.weight":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[16,48]}}"#
        let json = Array(header.utf8)
        let bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) } + json + [UInt8](repeating: 0, count: 48)
        let path = try scratch.write(bytes, to: "two.safetensors")
        let run = try Run.ckptforget("inspect", path)
        #expect(run.status == 0)
        #expect(run.stdout.contains("output layer: \(path): cannot tell which layer is the output layer"))
        let chosen = try Run.ckptforget("inspect", path, "--output-layer", "a")
        #expect(chosen.stdout.contains("output layer: a (2 classes)"))
    }
}
