import Foundation
import Testing

/// A `.pt` training checkpoint holding an optimizer's state (Adam's moments, computed from the data
/// being forgotten too): the pickle is copied as it is, so the state cannot be left out as Keras'
/// is; it is refused unless --keep-optimizer-state asks for it, and then kept with a warning and
/// "kept" in the summary and the records, never edited. It used to be copied silently.
@Suite struct TorchOptimizerStateTests {
    /// `{"model": OrderedDict(fc.weight (3, 2), fc.bias (3)), "optimizer": {"state": {0: {"exp_avg": (3, 2)}},
    /// "param_groups": []}, "epoch": 3}`, pickled as torch.save does (storages "0", "1", "2").
    static let pickle = "80027d2858050000006d6f64656c63636f6c6c656374696f6e730a4f726465726564446963740a295228580900000066632e77656967687463746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a2828580700000073746f7261676563746f7263680a466c6f617453746f726167650a58010000003058030000006370754b0674514b00284b034b0274284b024b01748963636f6c6c656374696f6e730a4f726465726564446963740a29527452580700000066632e6269617363746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a2828580700000073746f7261676563746f7263680a466c6f617453746f726167650a58010000003158030000006370754b0374514b00284b0374284b01748963636f6c6c656374696f6e730a4f726465726564446963740a295274527558090000006f7074696d697a65727d28580500000073746174657d284b007d2858070000006578705f61766763746f7263682e5f7574696c730a5f72656275696c645f74656e736f725f76320a2828580700000073746f7261676563746f7263680a466c6f617453746f726167650a58010000003258030000006370754b0674514b00284b034b0274284b024b01748963636f6c6c656374696f6e730a4f726465726564446963740a295274527575580c000000706172616d5f67726f7570735d75580500000065706f63684b03752e"

    static func checkpoint() -> [UInt8] {
        let pickle = stride(from: 0, to: Self.pickle.count, by: 2).map { offset -> UInt8 in
            let start = Self.pickle.index(Self.pickle.startIndex, offsetBy: offset)
            return UInt8(Self.pickle[start..<Self.pickle.index(start, offsetBy: 2)], radix: 16)!
        }
        func floats(_ values: [Float]) -> [UInt8] { values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) } }
        return StoredZip.bytes([("ckpt/data.pkl", pickle), ("ckpt/byteorder", Array("little".utf8)),
                                ("ckpt/data/0", floats([1, 2, 3, 4, 5, 6])), ("ckpt/data/1", floats([0.5, 0.5, 0.5])),
                                ("ckpt/data/2", floats([9, 9, 9, 9, 9, 9])), ("ckpt/version", Array("3\n".utf8))])
    }

    @Test func isRefusedWithoutKeepOptimizerState() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.write(Self.checkpoint(), to: "ckpt.pt")
        let run = try Run.ckptforget(input, "--pass", "dampen:0.5", "--class", "1", "-o", scratch.file("out.pt"))
        #expect(run.status == 2, "exit \(run.status): \(run.stderr)")
        for text in ["\(input): holds optimizer state (optimizer)", "--keep-optimizer-state", "torch.save(checkpoint[\"model\"]"] {
            #expect(run.stderr.contains(text), "stderr lacks '\(text)': \(run.stderr)")
        }
        #expect(!scratch.contents.contains { $0.hasPrefix("out") })
    }

    @Test func isKeptUneditedAndSaidSoWhenAsked() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let input = try scratch.write(Self.checkpoint(), to: "ckpt.pt")
        // The moments are optimizer state: never chosen by a pass, copied as they are.
        let run = try Run.ckptforget(input, "--pass", "zero", "--class", "1", "--keep-optimizer-state", "-o", scratch.file("out.pt"))
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stderr.contains("kept optimizer state optimizer unchanged"), "\(run.stderr)")
        #expect(run.stderr.contains("model.fc.weight: 2 changed") && !run.stderr.contains("exp_avg"), "\(run.stderr)")
        let bundle = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: scratch.file("out.pt.manifest.json")))) as! [String: Any]
        let payload = Data(base64Encoded: (bundle["dsseEnvelope"] as! [String: Any])["payload"] as! String)!
        let statement = try JSONSerialization.jsonObject(with: payload) as! [String: Any]
        let optimizer = (statement["predicate"] as! [String: Any])["optimizer_state"] as! [String: Any]
        #expect(optimizer["action"] as? String == "kept" && optimizer["groups"] as? [String] == ["optimizer"])
        let inspect = try Run.ckptforget("inspect", scratch.file("out.pt"))
        #expect(inspect.status == 0, "\(inspect.stderr)")
    }
}
