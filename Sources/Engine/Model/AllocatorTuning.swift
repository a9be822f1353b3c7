internal import CMalloc

/// The engine allocates and frees activation buffers of the same large sizes for every batch, on
/// several threads, and the passes and digests do the same with their slices and reads. glibc maps
/// large blocks afresh and returns freed memory to the kernel, so each batch or slice faulted its
/// pages in again: a fifth of the time of the seed MLP's Fisher pass, and about 1.2 of the 4 kernel
/// CPU seconds of a `--pre` pass on 1 GiB. Keeping blocks up to 32 MiB (glibc's limit) in the heap,
/// and up to 256 MiB of freed memory before trimming, avoids that. It applies to the whole process
/// from the engine's first batch or a forgetting run's start (`apply()`) on.
public enum AllocatorTuning {
    public static func apply() { _ = applied }

    static let applied: Void = {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }()
}
