internal import CMalloc

/// The engine allocates and frees activation buffers of the same large sizes for every batch.
/// glibc hands blocks over 128 KiB straight back to the kernel, so every batch faulted its pages in
/// anew: a fifth of the time of the seed MLP's Fisher pass. Keeping freed blocks in the heap (up to
/// glibc's 32 MiB mmap limit, and 256 MiB before trimming) avoids that; the peak is unchanged.
enum AllocatorTuning {
    static let applied: Void = {
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }()
}
