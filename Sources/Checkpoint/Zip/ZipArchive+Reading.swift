/// Reading members: whole (small ones, with a limit) or streamed in pieces; the CRC is checked
/// against the directory's as the last piece is read, before the caller's last call returns.
extension ZipArchive {
    static let pieceSize = 1 << 20

    /// The member's content, at most `limit` bytes, CRC checked.
    func contents(of entry: ZipEntry, limit: Int) throws -> [UInt8] {
        guard entry.size <= limit else { throw CheckpointError.zip(path: path, .memberTooLarge(member: entry.name, size: entry.size, limit: limit)) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(entry.size)
        try stream(entry) { bytes.append(contentsOf: $0) }
        return bytes
    }

    /// Calls `body` with the member's content in pieces of at most 1 MiB, in order; throws
    /// `CheckpointError.zip` when it does not inflate to its declared size or its CRC differs.
    func stream(_ entry: ZipEntry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let value: UInt32
        if entry.isStored {
            value = try OverlappedCRCReader.stream(file, count: entry.size, at: entry.dataOffset, body)
        } else {
            var crc = CRC32()
            try inflate(entry) { piece in
                crc.update(piece)
                try body(piece)
            }
            value = crc.value
        }
        try requireCRC(value, of: entry)
    }

    /// Throws unless `value`, computed over the member's content, is the CRC the archive records.
    func requireCRC(_ value: UInt32, of entry: ZipEntry) throws {
        guard value == entry.crc32 else {
            throw CheckpointError.zip(path: path, .crcMismatch(member: entry.name, expected: entry.crc32, actual: value))
        }
    }

    /// Checks the member's CRC without using its bytes (a stored member's parts on every core).
    func checkCRC(_ entry: ZipEntry) throws {
        guard entry.isStored else { return try stream(entry) { _ in } }
        try requireCRC(try ParallelCRC.of(file, count: entry.size, at: entry.dataOffset), of: entry)
    }

    /// Inflates a deflated member piece by piece: never more than its declared size, and exactly
    /// that, from exactly its compressed bytes.
    private func inflate(_ entry: ZipEntry, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let failed = { (reason: String) in CheckpointError.zip(path: self.path, .inflate(member: entry.name, reason: reason)) }
        let inflater: RawInflater
        do { inflater = try RawInflater(expectedOutput: entry.size) } catch { throw failed("\(error)") }
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: min(max(entry.compressedSize, 1), 1 << 16), alignment: 16)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.pieceSize, alignment: 16)
        defer { input.deallocate(); output.deallocate() }
        var position = entry.dataOffset
        var pending = 0, consumedTotal = 0
        while !inflater.finished {
            if pending == 0 {
                let count = min(input.count, entry.dataEnd - position)
                guard count > 0 else { throw failed("the compressed data ends before the deflate stream does") }
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: input[0..<count]), at: position)
                position += count
                pending = count
                consumedTotal = 0
            }
            let result: (consumed: Int, produced: Int)
            do {
                result = try inflater.inflate(UnsafeRawBufferPointer(rebasing: input[consumedTotal..<(consumedTotal + pending)]), into: output)
            } catch .longerThanDeclared {
                throw failed("it inflates to more than its declared \(entry.size) bytes")
            } catch .endedEarly {
                throw failed("it inflates to fewer than its declared \(entry.size) bytes")
            } catch {
                throw failed("\(error)")
            }
            consumedTotal += result.consumed
            pending -= result.consumed
            if result.produced > 0 { try body(UnsafeRawBufferPointer(rebasing: output[0..<result.produced])) }
            if result.consumed == 0, result.produced == 0, !inflater.finished, pending > 0 {
                throw failed("the deflate stream makes no progress")
            }
        }
        // Every compressed byte must belong to the stream: bytes after its end would be read (and
        // digested) as the member yet never inflated, and would dilute the compression ratio.
        let unused = pending + (entry.dataEnd - position)
        guard unused == 0 else { throw CheckpointError.zip(path: path, .bytesAfterDeflateStream(member: entry.name, count: unused)) }
    }
}

extension FileBytes {
    /// Calls `body` with `count` bytes at `offset`, read in pieces of at most `pieceSize`.
    func forEachPiece(count: Int, at offset: Int, pieceSize: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        guard count > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: min(count, pieceSize), alignment: 4096)
        defer { buffer.deallocate() }
        var done = 0
        while done < count {
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<min(buffer.count, count - done)])
            try read(into: piece, at: offset + done)
            try body(UnsafeRawBufferPointer(piece))
            done += piece.count
        }
    }
}
