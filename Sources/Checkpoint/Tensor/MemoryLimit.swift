import Foundation

/// Refuses, before allocating, a tensor whose values would not fit in this machine's memory (a
/// damaged or hostile header can declare terabytes in a file of kilobytes; HDF5 reads unwritten
/// chunks as fill values).
public enum MemoryLimit {
    /// The most bytes one tensor's decoded values may take: the machine's physical memory.
    public static let bytes = Int(clamping: ProcessInfo.processInfo.physicalMemory)

    /// Throws `CheckpointError.tooLarge` naming the tensor when its decoded values (float32, or
    /// float64 for F64) would not fit.
    public static func check(_ info: TensorInfo, in path: String) throws {
        let width = info.dtype == .float64 ? 8 : 4
        let (needed, overflow) = info.count.multipliedReportingOverflow(by: width)
        guard overflow || needed > bytes else { return }
        throw CheckpointError.tooLarge(path: path, tensor: info.name, shape: info.shape, bytes: overflow ? Int.max : needed, limit: bytes)
    }
}
