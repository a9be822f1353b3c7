import Foundation
import Testing

/// HDF5 structures and command lines that once went wrong: each must be refused cleanly or survive.
@Suite struct EdgeCaseTests {
    @Test func aDatasetWithTwoNamesIsNotEditedUnderOne() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Run.fixture("hdf5/links.h5")
        let refused = try Run.ckptforget(input, "--output-layer", "fc", "-p", "zero", "-c", "1", "-o", scratch.file("out.h5"))
        #expect(refused.status == 2 && refused.stderr.contains("tensor 'fc/weight': the same dataset is also linked as z_alias"), "\(refused.stderr)")
        #expect(scratch.contents.isEmpty)
        // Editing only the bias works, and the second link and the link back to the root survive as links.
        let run = try Run.ckptforget(input, "--output-layer", "fc", "-p", "zero@*bias", "-c", "1", "-q", "--no-sign", "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        let listing = try Run.run("h5ls", ["-r", scratch.file("out.h5")]).stdout
        #expect(listing.contains("/fc/loop                 Group, same as /"), "\(listing)")
        #expect(listing.contains("/z_alias                 Dataset, same as /fc/weight"), "\(listing)")
        #expect(!listing.contains("/fc/loop/fc"), "the cycle was copied into itself")
    }

    @Test func objectReferencesAreRefused() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("hdf5/refs.h5"), "--output-layer", "fc", "-p", "zero", "-c", "1", "-o", scratch.file("out.h5"))
        #expect(run.status == 2 && run.stderr.contains("refs.h5: tensor 'fc/weight': its attribute 'bias_ref' holds object references"), "exit \(run.status): \(run.stderr)")
        #expect(scratch.contents.isEmpty)
    }

    @Test func outputsMayNotCollideAndRecordOptionsNeedRecords() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let mlp = Run.fixture("safetensors/mlp.safetensors")
        let collide = try Run.ckptforget(mlp, "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"), "--manifest", scratch.file("o.safetensors"))
        #expect(collide.status == 2 && collide.stderr.contains("two outputs of this run would be written there"))
        // The key beside the output: an attestation elsewhere is refused for its place before this check.
        let key = scratch.file("k.pem")
        try FileManager.default.copyItem(atPath: SignedRecordsTests.signing + "/p256.pem", toPath: key)
        chmod(key, 0o600)
        let overKey = try Run.ckptforget(mlp, "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"), "--sign-key", key, "--manifest", key)
        #expect(overKey.status == 2 && overKey.stderr.contains("it is the input"), "\(overKey.stderr)")
        let pointless = try Run.ckptforget(mlp, "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"), "--no-sign", "--sign-key", key)
        #expect(pointless.status == 2 && pointless.stderr.contains("--sign-key has no effect with --no-sign"))
        #expect(scratch.contents == ["k.pem"])
    }

    @Test func anEncryptedKeyIsRefusedWithoutPrompting() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let made = try Run.run("openssl", ["genpkey", "-algorithm", "ed25519", "-aes256", "-pass", "pass:secret", "-out", scratch.file("enc.pem")])
        #expect(made.status == 0)
        let run = try Run.ckptforget(Run.fixture("safetensors/mlp.safetensors"), "-p", "zero", "-c", "1", "-o", scratch.file("o.safetensors"),
                                     "--sign-key", scratch.file("enc.pem"))
        #expect(run.status == 2 && run.stderr.contains("an encrypted key"), "\(run.stderr)")
        #expect(scratch.contents == ["enc.pem"])
    }

    @Test func aDamagedRecordFailsVerification() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let record = try scratch.write(Array("{\"mediaType\": \"something else\"}".utf8), to: "x.manifest.json")
        let run = try Run.ckptforget("verify", record, "--key", SignedRecordsTests.signing + "/p256.pub.pem")
        #expect(run.status == 3 && run.stderr.contains("not a valid signed record"))
    }

    /// Small things that once exited 0 or 1 where the user's words were at fault (exit 2), or were silent.
    @Test func smallUsageMistakesAreExitTwoAndIgnoredClassesAreSaid() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        for arguments in [["keygen", "-o", ""], ["keygen", "-o", scratch.file("nodir/k.pem")], ["help", "nope"]] {
            let run = try Run.run(Run.binary, arguments)
            #expect(run.status == 2 && run.stderr.hasPrefix("ckptforget: error:"), "\(arguments): \(run.status) \(run.stderr)")
        }
        #expect(scratch.contents.isEmpty)
        // A file name that is not UTF-8 would become another name: refused, not misread.
        let invalid = try Run.run("sh", ["-c", #"cp "$1" "$2/$(printf 'bad\377.h5')" && "$0" inspect "$2/$(printf 'bad\377.h5')""#,
                                         Run.binary, Run.fixture("keras/mnist_mlp.h5"), scratch.path])
        #expect(invalid.status == 2 && invalid.stderr.contains("not valid UTF-8"), "\(invalid.stderr)")
        // prune acts on ΔW: a --class without data changes nothing, and the run says so.
        let model = Run.fixture("keras/mnist_mlp.h5")
        let prune = try Run.ckptforget(model, "--pre", model, "-p", "prune:theta=0.1", "-c", "2", "-o", scratch.file("p.h5"), "--no-sign", "-q")
        #expect(prune.status == 0 && prune.stderr.contains("--class has no effect on prune:theta=0.1"), "\(prune.stderr)")
    }

    /// Keras files whose output layer is damaged (Fixtures/make_damaged_keras.py) once had a class
    /// edit sent to the hidden layer with exit 0. Now nothing is written, and the message names the
    /// layer and what disagrees.
    @Test(arguments: [("no_kernel.h5", "weight_names lists 'sequential/output/kernel', which is not a numeric dataset"),
                      ("kernel_1d.h5", "has shape [6]; a kernel has two axes or more"),
                      ("kernel_string.h5", "weight_names lists 'sequential/output/kernel', which is not a numeric dataset"),
                      ("unlisted_kernel.h5", "'model_weights/output/sequential/output/kernel' is in the layer's group but not in its weight_names"),
                      ("bias_length.h5", "has shape [5] for a kernel of 2 units"),
                      ("int_kernel.h5", "is I32, not floats"),
                      ("units_mismatch.h5", "the model_config declares 2 units, the kernel has 5")])
    func aDamagedOutputLayerIsNeverEditedNorPassedOver(file: String, problem: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = Run.fixture("keras/damaged/" + file)
        for pass in ["zero", "suppress"] {
            let run = try Run.ckptforget(path, "-p", pass, "-c", "1", "-o", scratch.file("out.h5"))
            #expect(run.status == 2 && run.stderr.contains("layer 'output' is damaged") && run.stderr.contains(problem), "\(pass): \(run.stderr)")
        }
        // Nor is any of its tensors edited by a pass over all layers, while the intact layer can be.
        let all = try Run.ckptforget(path, "--pre", path, "-p", "negate:1", "-o", scratch.file("out.h5"))
        #expect(all.status == 2 && all.stderr.contains("layer 'output' is damaged"), "\(all.stderr)")
        #expect(scratch.contents.isEmpty)
        let hidden = try Run.ckptforget(path, "--pre", path, "-p", "negate:1@hidden", "-o", scratch.file("out.h5"), "--no-sign", "-q")
        #expect(hidden.status == 0, "\(hidden.stderr)")
        let json = try Run.ckptforget("inspect", path, "--json")
        let damaged = (try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])?["damaged_layers"] as? [String: [String]]
        #expect(damaged?["output"]?.contains { $0.contains(problem) } == true, "\(json.stdout)")
    }

    /// Keras 2's CuDNNLSTM keeps an input and a recurrent bias, 8 × units values for a kernel of 4 ×
    /// units: not damage. The layers are listed whole and every pass over all layers edits them.
    @Test func cudnnBiasesAreTwoHalvesNotDamage() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = Run.fixture("graph/cudnn_text.h5")
        let json = try Run.ckptforget("inspect", path, "--json")
        let report = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(json.status == 0 && report != nil, "\(json.stderr)")
        #expect(((report?["damaged_layers"] as? [String: [String]]) ?? [:]).isEmpty, "\(json.stdout)")
        let negate = try Run.ckptforget(path, "--pre", path, "-p", "negate:1", "-o", scratch.file("out.h5"), "--no-sign", "-q")
        #expect(negate.status == 0, "\(negate.stderr)")
    }

    /// Sizes a hostile file declares are compared by division, never multiplied (both trapped): a
    /// CuDNNLSTM whose config declares 2^62 units is refused naming the layer, and one whose kernel
    /// is 2^62 wide (empty, chunked) is listed as damaged.
    @Test func hostileRecurrentSizesAreRefusedNotTrapped() throws {
        let units = try Run.ckptforget("eval", Run.fixture("graph/cudnn_text_huge_units.h5"), "--data", Run.fixture("graph/cudnn_text_data.h5"))
        #expect(units.status == 2 && units.stderr.contains("layer 'rnn_2'") && units.stderr.contains("do not fit its model_config"),
                "\(units.stderr)")
        let wide = try Run.ckptforget("inspect", Run.fixture("graph/cudnn_text_wide_kernel.h5"), "--json")
        let report = try JSONSerialization.jsonObject(with: Data(wide.stdout.utf8)) as? [String: Any]
        let damage = (report?["damaged_layers"] as? [String: [String]])?["rnn_2"] ?? []
        #expect(wide.status == 0 && damage.contains { $0.contains("for a kernel of 4611686018427387904 units in a cuDNN layer") },
                "\(wide.stdout) \(wide.stderr)")
    }

    /// Attributes over 64 KiB need dense attribute storage, which only newer object headers have: an
    /// input written with libver="latest" gets an output with the same lower bound (it failed with
    /// exit 1 while recreating the edited dataset's attributes), and h5diff sees only the edit.
    @Test func attributesOverSixtyFourKiBComeThroughAnEdit() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = Run.fixture("hdf5/big_attributes.h5")
        let run = try Run.ckptforget(input, "--output-layer", "fc", "-p", "zero", "-c", "1", "-q", "--no-sign", "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        let diff = try Run.run("h5diff", ["-c", input, scratch.file("out.h5")])
        #expect(diff.stdout.contains("dataset: </fc/weight> and </fc/weight>") && diff.stdout.contains("2 differences found")
                && !diff.stdout.contains("attribute"), "\(diff.stdout)")
        for object in ["/fc", "/fc/weight"] {
            let dump = try Run.run("h5dump", ["-a", "\(object)/big", scratch.file("out.h5")]).stdout
            #expect(dump.contains("DATASPACE  SIMPLE { ( 10000 ) / ( 10000 ) }") && dump.contains("9999"), "\(object): \(dump.prefix(300))")
        }
    }

    /// One inverted byte in the root group's attributes (Fixtures/make_damaged_hdf5.py): refused before
    /// anything is written, naming the input and the attribute (it was copied through with exit 0, or
    /// failed while writing with exit 1 naming the temporary file).
    @Test(arguments: [("title_heap.h5", "'/@title' is damaged: the attribute's value cannot be read"),
                      ("title_charset.h5", "'/@title' is damaged: the attribute's datatype: an unknown character set (14)"),
                      ("version_bits.h5", "'/@version' is damaged: the attribute's datatype: its 64 bits at offset 255 do not fit its 8 bytes"),
                      ("scales_fields.h5", "'/@scales' is damaged: the attribute's datatype: its sign, exponent and mantissa fields do not fit")])
    func damagedAttributesAreRefusedBeforeWriting(file: String, message: String) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let path = Run.fixture("hdf5/damaged/" + file)
        let run = try Run.ckptforget(path, "--output-layer", "encoder", "-p", "zero", "-c", "0", "-o", scratch.file("out.h5"))
        #expect(run.status == 2 && run.stderr.contains(path + ": " + message), "\(run.stderr)")
        #expect(scratch.contents.isEmpty)
    }

    /// A variable-length string type whose stored base type is damaged is written afresh: the
    /// output holds the same text under a type every reader takes.
    @Test func aDamagedStringTypeIsWrittenAfresh() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let run = try Run.ckptforget(Run.fixture("hdf5/damaged/title_base.h5"), "--output-layer", "encoder", "-p", "zero", "-c", "0", "-q", "--no-sign",
                                     "-o", scratch.file("out.h5"))
        #expect(run.status == 0, "\(run.stderr)")
        let dump = try Run.run("h5dump", ["-a", "/title", scratch.file("out.h5")]).stdout
        #expect(dump.contains("STRSIZE H5T_VARIABLE") && dump.contains("\"ckptforget generic fixture\""), "\(dump)")
    }
}
