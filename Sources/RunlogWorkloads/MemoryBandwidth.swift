#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The machine's memory copy rate, the physical limit the benchmarks quote beside scan speeds.
public enum MemoryBandwidth {
    /// Bytes a second `memcpy` moves between two 256 MiB buffers: the median of `rounds` copies.
    public static func memcpyBytesPerSecond(rounds: Int = 7) -> Double {
        let size = 256 << 20
        let source = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        let destination = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
        defer {
            source.deallocate()
            destination.deallocate()
        }
        memset(source.baseAddress!, 1, size)
        memset(destination.baseAddress!, 0, size)
        var times: [UInt64] = []
        for _ in 0..<max(rounds, 1) {
            var start = timespec()
            var end = timespec()
            clock_gettime(CLOCK_MONOTONIC, &start)
            memcpy(destination.baseAddress!, source.baseAddress!, size)
            clock_gettime(CLOCK_MONOTONIC, &end)
            times.append(
                UInt64(end.tv_sec - start.tv_sec) * 1_000_000_000 + UInt64(end.tv_nsec) - UInt64(start.tv_nsec))
        }
        return Double(size) / (Double(times.sorted()[times.count / 2]) / 1e9)
    }
}
