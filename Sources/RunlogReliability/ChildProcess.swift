import RunlogStore

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with `posix_spawn`, its stdout read line by line through a pipe.
package final class ChildProcess {
    package let pid: pid_t
    private let stdoutFD: Int32
    private var pending: [UInt8] = []
    private var reaped = false

    /// Starts `executable`; its stdin reads the file at `stdin` (default /dev/null: a child never
    /// waits on the campaign's terminal), and with `mergingStderr` its stderr joins the stdout read.
    package init(
        _ executable: String, _ arguments: [String], stdin: String = "/dev/null", mergingStderr: Bool = false
    ) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SystemError("pipe", path: executable, errno: errno) }
        // Other tests spawn children too: keep our pipe out of theirs (dup2 into fd 1 clears the flag).
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 0, stdin, O_RDONLY, 0)
        if mergingStderr { posix_spawn_file_actions_adddup2(&actions, fds[1], 2) }
        posix_spawn_file_actions_addclose(&actions, fds[0])
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var child: pid_t = 0
        let status = posix_spawn(&child, executable, &actions, nil, argv, environ)
        close(fds[1])
        guard status == 0 else {
            close(fds[0])
            throw SystemError("posix_spawn", path: executable, errno: status)
        }
        pid = child
        stdoutFD = fds[0]
    }

    /// The next line of stdout, or nil at end of output.
    package func readLine() -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = read(stdoutFD, &chunk, chunk.count)
            if n <= 0 { return nil }
            pending += chunk[..<n]
        }
    }

    package func kill(_ signal: Int32 = SIGKILL) {
        _ = Glibc.kill(pid, signal)
    }

    /// Everything the child writes until it ends, and its exit status (nil when a signal ended it).
    package func finish() -> (output: String, status: Int32?) {
        var lines: [String] = []
        while let line = readLine() { lines.append(line) }
        let status = wait()
        return (lines.joined(separator: "\n"), status & 0x7f == 0 ? (status >> 8) & 0xff : nil)
    }

    /// Waits for the child to end; returns its wait status.
    @discardableResult
    package func wait() -> Int32 {
        guard !reaped else { return 0 }
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        reaped = true
        return status
    }

    deinit {
        if !reaped {
            kill()
            wait()
        }
        close(stdoutFD)
    }
}
