#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Starts a detached thread running `body`. Whoever starts it tracks its end (the writer's sealer
/// marks its exit in the writer's state, and `close()` waits for that).
package func startThread(_ body: @escaping @Sendable () -> Void) throws(StoreError) {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let context = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(
        &thread, nil,
        { context in
            Unmanaged<Box>.fromOpaque(context!).takeRetainedValue().body()
            return nil
        }, context)
    guard status == 0 else {
        Unmanaged<Box>.fromOpaque(context).release()
        throw StoreError(.io, "starting a thread", underlying: SystemError("pthread_create", path: "-", errno: status))
    }
    pthread_detach(thread)
}
