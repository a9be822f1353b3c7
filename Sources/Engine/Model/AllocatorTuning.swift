internal import CMalloc

/// The engine allocates and frees activation buffers of the same large sizes for every batch, on
/// several threads. glibc maps large blocks afresh and returns freed memory to the kernel, so
/// batches kept faulting their pages in: a fifth of the time of the seed MLP's Fisher pass. Keeping
/// blocks up to 32 MiB (glibc's limit) in the heap, and up to 256 MiB of freed memory before
/// trimming, avoids that. It applies to the whole process from the engine's first batch on.
enum AllocatorTuning {
    static let applied: Void = {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }()
}
