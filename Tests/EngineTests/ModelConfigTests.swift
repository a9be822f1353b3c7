import Foundation
import Testing
import Checkpoint
@testable import Engine

/// A Keras `model_config` is untrusted input: whatever sizes it states, the engine refuses what it
/// cannot build with an `EngineError`, never a trap. Each case is one `make fuzz`
/// (keras-model-config) found trapping, on mnist_cnn.h5's own weights.
@Suite struct ModelConfigTests {
    /// A fixture (by default Fixtures/engine/mnist_cnn.h5) with another `model_config`.
    final class Reconfigured: CheckpointFile {
        let model: any CheckpointFile
        let metadata: CheckpointMetadata

        init(_ config: String, model fixture: String = "engine/mnist_cnn.h5") throws {
            model = try openCheckpoint(ForwardTests.path(fixture))
            var metadata = model.metadata
            metadata.modelConfig = try? JSONValue(strict: Array(config.utf8))
            self.metadata = metadata
        }

        var path: String { model.path }
        var format: CheckpointFormat { model.format }
        var tensors: [TensorInfo] { model.tensors }
        func read(_ info: TensorInfo) throws -> Tensor { try model.read(info) }
        func rewrite(to destination: String, in output: OutputTransaction, plan: RewritePlan,
                     progress: RewriteProgress, edit: (inout Tensor) throws -> Void) throws {
            Issue.record("not written")
        }
    }

    /// mnist_cnn's config cut to what the engine reads (Fuzz/corpus/keras-model-config/mnist_cnn-compact.json).
    static let seed = #"{"class_name":"Sequential","config":{"layers":[{"class_name":"InputLayer","config":{"batch_shape":[null,28,28,1],"name":"input_layer"}},{"class_name":"Conv2D","config":{"name":"conv1","filters":6,"kernel_size":[3,3],"strides":[1,1],"padding":"same","data_format":"channels_last","dilation_rate":[1,1],"groups":1,"activation":"relu"}},{"class_name":"MaxPooling2D","config":{"name":"pool1","pool_size":[2,2],"padding":"valid","strides":[2,2],"data_format":"channels_last"}},{"class_name":"Conv2D","config":{"name":"conv2","filters":8,"kernel_size":[3,3],"strides":[2,2],"padding":"valid","data_format":"channels_last","dilation_rate":[1,1],"groups":1,"activation":"relu"}},{"class_name":"AveragePooling2D","config":{"name":"pool2","pool_size":[2,2],"padding":"valid","strides":[2,2],"data_format":"channels_last"}},{"class_name":"BatchNormalization","config":{"name":"bn","axis":-1,"epsilon":0.001}},{"class_name":"Flatten","config":{"name":"flatten","data_format":"channels_last"}},{"class_name":"Dropout","config":{"name":"drop"}},{"class_name":"Dense","config":{"name":"fc","units":24,"activation":"tanh"}},{"class_name":"Dense","config":{"name":"logits","units":10,"activation":"linear"}},{"class_name":"Activation","config":{"name":"softmax","activation":"softmax"}}],"build_input_shape":[null,28,28,1]}}"#

    /// The seed with `old` replaced by `new` (exactly once).
    static func config(replacing old: String, with new: String) -> String {
        precondition(seed.components(separatedBy: old).count == 2, "\(old) is not in the seed once")
        return seed.replacingOccurrences(of: old, with: new)
    }

    @Test func theSeedBuilds() throws {
        let network = try KerasModelBuilder.build(Reconfigured(Self.seed))
        #expect(network.inputShape == [28, 28, 1] && network.classes == 10)
    }

    /// Found beside the zero stride: a "valid" window larger than its input fitted once when the
    /// stride was above 1, since (2 − 3) / 2 + 1 truncates to 1; TensorFlow says 0.
    @Test func aValidWindowLargerThanItsInputFitsNowhere() {
        #expect(Conv2D.geometry(input: 2, kernel: 3, stride: 2, same: false).size == 0)
        #expect(Conv2D.geometry(input: 3, kernel: 3, stride: 2, same: false).size == 1)
        #expect(Conv2D.geometry(input: 7, kernel: 3, stride: 2, same: true) == (4, 1))
        #expect(Conv2D.geometry(input: 5, kernel: .max, stride: .max, same: true).size == 1)  // no overflow
        let pool = Pooling2D(name: "pool", kind: .max, size: (3, 3), strides: (2, 2), samePadding: false)
        #expect(throws: EngineError.self) { try pool.outputShape(for: [2, 2, 4], path: "model.h5") }
    }

    struct Case: Sendable, CustomStringConvertible {
        let description: String
        let old: String, new: String
        /// Words the error must hold.
        let words: [String]
    }

    static let cases: [Case] = [
        // Division by zero in Conv2D.geometry (the crash's bytes: conv2's strides [2,2] became [2,0]).
        Case(description: "a zero stride", old: #""strides":[2,2],"padding":"valid","data_format":"channels_last","dilation_rate""#,
             new: #""strides":[2,0],"padding":"valid","data_format":"channels_last","dilation_rate""#, words: ["conv2", "strides [2, 0]"]),
    ]

    @Test(arguments: cases) func isRefusedWithAnEngineError(_ c: Case) throws {
        let file = try Reconfigured(Self.config(replacing: c.old, with: c.new))
        do {
            _ = try KerasModelBuilder.build(file)
            Issue.record("built")
        } catch let error as EngineError {
            for word in c.words { #expect("\(error)".contains(word), "\(error)") }
        }
    }
}
