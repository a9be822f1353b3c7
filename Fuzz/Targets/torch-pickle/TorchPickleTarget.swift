@testable import Checkpoint

/// The bytes as a `torch.save` archive's `data.pkl`: interpreted by the pickle subset, then read as
/// a state dict (nested names joined, each tensor a view into a storage). What `TorchFile` builds on
/// is checked for every tensor: names distinct, the view's bytes inside its storage's numel ×
/// itemsize (the record's length is checked against that, so a read or an edit stays inside the
/// record), and a view of at most 64 KiB is gathered and scattered back (a larger one takes the
/// same code, only slower).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let result = try? PickleReader.read(Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    _ = Dictionary(uniqueKeysWithValues: result.tensors.map { ($0.name, $0.record) })
    for (_, record) in result.tensors {
        let storage = result.storages[record.storage]
        let view = TorchView(record)
        precondition(view.byteRange.lowerBound >= 0 && view.byteRange.upperBound <= storage.byteCount)
        precondition(view.count == 0 || view.spanCount >= 1)
        _ = (view.isContiguous, view.isNonOverlapping)
        guard view.spanIsCompact, view.byteRange.count <= 1 << 16 else { continue }
        var span = [UInt8](repeating: 0, count: view.byteRange.count)
        let elements = span.withUnsafeBytes { view.gather($0) }
        precondition(elements.count == view.count * view.itemSize)
        elements.withUnsafeBytes { source in span.withUnsafeMutableBytes { view.scatter(source, into: $0) } }
    }
    return 0
}
