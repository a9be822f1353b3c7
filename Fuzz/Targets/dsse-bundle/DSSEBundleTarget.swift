import Foundation
@testable import Manifest

/// Public keys from Fixtures/signing, an ECDSA and an Ed25519 one, that signatures are checked with.
let keys = ["p256", "ed25519"].map { name in
    try! PublicKey(pemFile: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../../Fixtures/signing/\(name).pub.pem").standardized.path)
}

/// The bytes as a record (`.sig` or `.manifest.json`), read as `verify` and `audit` read one: the
/// Sigstore bundle, its DSSE signatures checked, the in-toto statement, and a Model Signing
/// predicate's resources.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let path = "fuzz.manifest.json"
    guard let bundle = try? SigstoreBundle(bytes: Array(UnsafeBufferPointer(start: data, count: size)), path: path) else { return 0 }
    for key in keys { _ = bundle.envelope.isSigned(by: key) }
    guard let statement = try? Statement(payload: bundle.envelope.payload, path: path) else { return 0 }
    _ = try? ModelSigning.listedResources(statement, path: path)
    return 0
}
