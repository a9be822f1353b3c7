import Forgetting

/// The bytes as a `--pass` argument: parsed, then configured by the registry's pass of that name.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    guard let spec = try? PassSpec(parsing: text), let pass = try? PassRegistry.make(spec) else { return 0 }
    _ = (pass.parameters, pass.requirements)
    return 0
}
