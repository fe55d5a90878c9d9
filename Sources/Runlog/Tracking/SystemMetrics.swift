import Foundation
import RunlogStore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Samples the machine and a process tree, under the names MLflow's system-metrics logger uses
/// (`system/cpu_utilization_percentage`, `system/system_memory_usage_megabytes`, …), so the UI
/// groups them as `system/`. Linux only: reads `/proc` (or a copy of it, for tests). GPUs come
/// from NVIDIA's NVML library when it loads (`libnvidia-ml.so.1`, or the file the environment
/// variable `RUNLOG_NVML_LIBRARY` names); without it there are no GPU keys and no error.
///
/// Each sample reports, for the time since the previous one: CPU utilisation of the machine,
/// disk read and write throughput; and at the moment: memory used, the process tree's resident
/// memory, disk usage of `diskPath`, megabytes received and sent over the network since the
/// sampler started (loopback left out), and per GPU utilisation and memory.
public struct SystemSampler: ~Copyable {
    public let processID: Int32
    let procRoot: String
    let diskPath: String?
    let gpus: NVML?
    private var previous: Counters
    private let startNetwork: (received: Double, sent: Double)

    struct Counters {
        var time: Double
        var cpuBusy: Double
        var cpuTotal: Double
        var sectorsRead: Double
        var sectorsWritten: Double
    }

    /// `procRoot` is `/proc` or a directory laid out like it; `diskPath` is the file system whose
    /// usage is reported (nil leaves disk usage out); `gpuLibrary` nil leaves GPUs out.
    public init(
        processID: Int32, procRoot: String = "/proc", diskPath: String? = "/",
        gpuLibrary: String? = SystemSampler.defaultGPULibrary
    ) {
        self.processID = processID
        self.procRoot = procRoot
        self.diskPath = diskPath
        self.gpus = gpuLibrary.flatMap(NVML.load)
        self.previous = Self.counters(procRoot)
        let network = Self.network(procRoot)
        self.startNetwork = network
    }

    /// NVML as the dynamic loader finds it, or the path in `RUNLOG_NVML_LIBRARY` (for a driver
    /// installed outside the loader's path).
    public static var defaultGPULibrary: String {
        if let path = ProcessInfo.processInfo.environment["RUNLOG_NVML_LIBRARY"], !path.isEmpty { return path }
        return "libnvidia-ml.so.1"
    }

    /// One sample, as metric key → value.
    public mutating func sample() -> [String: Double] {
        var values: [String: Double] = [:]
        let now = Self.counters(procRoot)
        let elapsed = max(now.time - previous.time, 1e-9)
        if now.cpuTotal > previous.cpuTotal {
            values["system/cpu_utilization_percentage"] =
                100 * (now.cpuBusy - previous.cpuBusy) / (now.cpuTotal - previous.cpuTotal)
        }
        let megabyte = 1_048_576.0
        values["system/disk_read_megabytes_per_second"] =
            (now.sectorsRead - previous.sectorsRead) * 512 / megabyte / elapsed
        values["system/disk_write_megabytes_per_second"] =
            (now.sectorsWritten - previous.sectorsWritten) * 512 / megabyte / elapsed
        previous = now
        let memory = Self.fields(of: procRoot + "/meminfo")
        if let total = memory["MemTotal"], let available = memory["MemAvailable"], total > 0 {
            values["system/system_memory_usage_megabytes"] = (total - available) / 1024
            values["system/system_memory_usage_percentage"] = 100 * (total - available) / total
        }
        if let rss = Self.treeResidentBytes(procRoot, root: processID) {
            values["system/process_memory_rss_megabytes"] = rss / megabyte
        }
        let network = Self.network(procRoot)
        values["system/network_receive_megabytes"] = (network.received - startNetwork.received) / megabyte
        values["system/network_transmit_megabytes"] = (network.sent - startNetwork.sent) / megabyte
        if let diskPath {
            var stats = statvfs()
            if statvfs(diskPath, &stats) == 0, stats.f_blocks > 0 {
                let block = Double(stats.f_frsize)
                let total = Double(stats.f_blocks) * block
                let available = Double(stats.f_bavail) * block
                let used = total - Double(stats.f_bfree) * block
                values["system/disk_usage_megabytes"] = used / megabyte
                values["system/disk_available_megabytes"] = available / megabyte
                values["system/disk_usage_percentage"] = 100 * used / (used + available)
            }
        }
        if let gpus {
            for gpu in gpus.sample() {
                let index = gpu.index
                values["system/gpu_\(index)_utilization_percentage"] = gpu.utilization
                values["system/gpu_\(index)_memory_usage_megabytes"] = gpu.usedBytes / megabyte
                values["system/gpu_\(index)_memory_usage_percentage"] = 100 * gpu.usedBytes / max(gpu.totalBytes, 1)
            }
        }
        return values
    }

    static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        // /proc files report size 0: read to the end, but never more than 4 MiB.
        var data = Data()
        while data.count < 4 << 20, let chunk = try? handle.read(upToCount: 65536), !chunk.isEmpty {
            data.append(chunk)
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func counters(_ root: String) -> Counters {
        var counters = Counters(time: monotonicSeconds(), cpuBusy: 0, cpuTotal: 0, sectorsRead: 0, sectorsWritten: 0)
        if let stat = read(root + "/stat"), let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ") {
            // user nice system idle iowait irq softirq steal (guest time is inside user already)
            let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
            if ticks.count >= 4 {
                counters.cpuTotal = ticks.reduce(0, +)
                counters.cpuBusy = counters.cpuTotal - ticks[3] - (ticks.count > 4 ? ticks[4] : 0)
            }
        }
        if let stats = read(root + "/diskstats") {
            let devices = stats.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
                .filter { $0.count >= 10 }
            let names = devices.map { String($0[2]) }
            for fields in devices {
                let name = String(fields[2])
                // Whole devices only: a partition's name extends its disk's (sda1, nvme0n1p1).
                if name.hasPrefix("loop") || name.hasPrefix("ram")
                    || names.contains(where: { $0 != name && name.hasPrefix($0) })
                {
                    continue
                }
                counters.sectorsRead += Double(fields[5]) ?? 0
                counters.sectorsWritten += Double(fields[9]) ?? 0
            }
        }
        return counters
    }

    /// `Key: value kB` lines (`/proc/meminfo`, `/proc/PID/status`, whose values follow a tab) →
    /// key → value.
    package static func fields(of path: String) -> [String: Double] {
        var fields: [String: Double] = [:]
        for line in (read(path) ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let value = Double(parts[1].split(whereSeparator: \.isWhitespace).first ?? "")
            else { continue }
            fields[String(parts[0])] = value
        }
        return fields
    }

    static func network(_ root: String) -> (received: Double, sent: Double) {
        var total = (received: 0.0, sent: 0.0)
        for line in (read(root + "/net/dev") ?? "").split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces) != "lo" else { continue }
            let numbers = parts[1].split(separator: " ").compactMap { Double($0) }
            guard numbers.count >= 9 else { continue }
            total.received += numbers[0]
            total.sent += numbers[8]
        }
        return total
    }

    /// The resident bytes of `root` and all its descendants, from each `/proc/PID/stat`
    /// (parent: the field after the parenthesised name; RSS pages: the 24th field).
    static func treeResidentBytes(_ procRoot: String, root: Int32) -> Double? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: procRoot) else { return nil }
        var parent: [Int32: Int32] = [:]
        var pages: [Int32: Double] = [:]
        for entry in entries {
            guard let pid = Int32(entry), let stat = read(procRoot + "/" + entry + "/stat"),
                let close = stat.lastIndex(of: ")")
            else { continue }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // fields[0] is the state, [1] the parent, [21] the resident pages.
            guard fields.count > 21, let ppid = Int32(fields[1]), let rss = Double(fields[21]) else { continue }
            parent[pid] = ppid
            pages[pid] = rss
        }
        guard pages[root] != nil else { return nil }
        var total = 0.0
        for (pid, count) in pages {
            var current: Int32? = pid
            var hops = 0
            while let id = current, hops < 4096 {
                if id == root {
                    total += count
                    break
                }
                current = parent[id]
                hops += 1
            }
        }
        return total * Double(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// NVIDIA's management library, loaded at run time; nil when it is absent or does not start.
final class NVML: @unchecked Sendable {
    // The C signatures of the five NVML calls used (nvml.h); status 0 is NVML_SUCCESS.
    typealias Initialise = @convention(c) () -> Int32
    typealias Count = @convention(c) (UnsafeMutablePointer<UInt32>) -> Int32
    typealias Handle = @convention(c) (UInt32, UnsafeMutablePointer<OpaquePointer?>) -> Int32
    typealias Utilisation = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt32>) -> Int32
    typealias Memory = @convention(c) (OpaquePointer?, UnsafeMutablePointer<UInt64>) -> Int32

    private let count: Count
    private let handle: Handle
    private let utilisation: Utilisation
    private let memory: Memory

    private init(count: Count, handle: Handle, utilisation: Utilisation, memory: Memory) {
        self.count = count
        self.handle = handle
        self.utilisation = utilisation
        self.memory = memory
    }

    static func load(_ library: String) -> NVML? {
        guard let image = dlopen(library, RTLD_NOW | RTLD_LOCAL) else { return nil }
        func symbol<T>(_ name: String, _ type: T.Type) -> T? {
            dlsym(image, name).map { unsafeBitCast($0, to: type) }
        }
        guard let initialise = symbol("nvmlInit_v2", Initialise.self), initialise() == 0,
            let count = symbol("nvmlDeviceGetCount_v2", Count.self),
            let handle = symbol("nvmlDeviceGetHandleByIndex_v2", Handle.self),
            let utilisation = symbol("nvmlDeviceGetUtilizationRates", Utilisation.self),
            let memory = symbol("nvmlDeviceGetMemoryInfo", Memory.self)
        else {
            dlclose(image)
            return nil
        }
        return NVML(count: count, handle: handle, utilisation: utilisation, memory: memory)
    }

    /// Each device that answers, under its NVML index (a device that fails keeps its number free).
    func sample() -> [(index: UInt32, utilization: Double, usedBytes: Double, totalBytes: Double)] {
        var devices: UInt32 = 0
        guard count(&devices) == 0 else { return [] }
        return (0..<min(devices, 64)).compactMap { index in
            var device: OpaquePointer?
            guard handle(index, &device) == 0 else { return nil }
            var rates = [UInt32](repeating: 0, count: 2)  // nvmlUtilization_t: gpu, memory
            var bytes = [UInt64](repeating: 0, count: 3)  // nvmlMemory_t: total, free, used
            guard utilisation(device, &rates) == 0, memory(device, &bytes) == 0 else { return nil }
            return (index, Double(rates[0]), Double(bytes[2]), Double(bytes[0]))
        }
    }
}

/// One reading of a `SystemSampler`: its step (0, 1, 2…), when it was taken, and its values.
public struct SystemSample: Sendable {
    public var step: Int64
    public var time: Int64
    public var values: [String: Double]
}

/// A `SystemSampler` on a thread of its own, handing each reading to `handle` every `seconds`
/// until `stop()`: what `SystemMetricsLogger` and `runlog run` sample with.
public final class PeriodicSampling: Sendable {
    private let stopped = Atomic(false)
    private let done = DispatchSemaphore(value: 0)
    private let wake = DispatchSemaphore(value: 0)
    private let last = Mutex<SystemSample?>(nil)

    /// With `lastSample`, `stop()` takes one more reading as it stops (so that what ends before
    /// the first interval has one too) and returns it instead of handing it on.
    public init(
        every seconds: Double, processID: Int32, lastSample: Bool = false,
        _ handle: @escaping @Sendable (SystemSample) -> Void
    ) {
        // The thread holds this object until `stop()` ends it.
        Thread.detachNewThread { [self] in
            var sampler = SystemSampler(processID: processID)
            var step: Int64 = 0
            var next = monotonicSeconds() + seconds
            while !stopped.load(ordering: .acquiring) {
                let wait = next - monotonicSeconds()
                if wait > 0 {
                    _ = wake.wait(timeout: .now() + wait)  // `stop()` wakes it at once
                    continue
                }
                next += seconds
                handle(SystemSample(step: step, time: currentTimeMilliseconds(), values: sampler.sample()))
                step += 1
            }
            if lastSample {
                let sample = SystemSample(step: step, time: currentTimeMilliseconds(), values: sampler.sample())
                last.withLock { $0 = sample }
            }
            done.signal()
        }
    }

    /// Stops sampling and returns once the thread has ended, with the last reading when asked.
    @discardableResult
    public func stop() -> SystemSample? {
        if !stopped.exchange(true, ordering: .acquiringAndReleasing) {
            wake.signal()
            done.wait()
        }
        return last.withLock { $0 }
    }
}

/// Logs a sampler's readings into a run every `interval` on a thread of its own, steps 0, 1, 2…,
/// until `stop()` — for a Swift training binary that starts its own run (`runlog run` samples
/// its child itself).
public final class SystemMetricsLogger: Sendable {
    private let sampling: PeriodicSampling

    public init(run: ActiveRun, every interval: Duration = .seconds(10), processID: Int32 = getpid()) {
        let seconds = Double(interval.components.seconds) + Double(interval.components.attoseconds) * 1e-18
        sampling = PeriodicSampling(every: seconds, processID: processID) { sample in
            for (key, value) in sample.values { try? run.log(key, value, step: sample.step, timestamp: sample.time) }
        }
    }

    /// Stops sampling and returns once the thread has ended.
    public func stop() { sampling.stop() }
}
