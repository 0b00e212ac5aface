import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A shell command run in a process group of its own, with its standard output and standard error on pipes, that
/// is always reaped: stopping it sends SIGTERM to the whole group, then SIGKILL if it lingers, and waits for it,
/// so it leaves neither orphans nor zombies. Used by one capture loop; not thread-safe.
final class ChildProcess {
    let command: String
    let pid: pid_t
    /// The read ends of the child's standard output and standard error.
    let output: Int32
    let errorOutput: Int32
    private var exitStatus: Int32?

    /// Starts `/bin/sh -c command`.
    init(command: String, environment: [String: String]) throws(PipeCameraError) {
        self.command = command
        var outputPipe: [Int32] = [0, 0]
        var errorPipe: [Int32] = [0, 0]
        guard pipe(&outputPipe) == 0, pipe(&errorPipe) == 0 else {
            throw .startFailed(command, reason: String(cString: strerror(errno)))
        }
        // Our ends must not leak into other children this process starts.
        for fd in outputPipe + errorPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errorPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(
            &attributes,
            Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        )
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)

        var merged = ProcessInfo.processInfo.environment
        merged.merge(environment) { _, new in new }
        let environmentStrings = merged.map { "\($0.key)=\($0.value)" }
        let arguments = ["/bin/sh", "-c", command]
        var pid: pid_t = 0
        let result = withCStrings(arguments) { argv in
            withCStrings(environmentStrings) { envp in
                posix_spawn(&pid, "/bin/sh", &actions, &attributes, argv, envp)
            }
        }
        close(outputPipe[1])
        close(errorPipe[1])
        guard result == 0 else {
            close(outputPipe[0])
            close(errorPipe[0])
            throw .startFailed(command, reason: String(cString: strerror(result)))
        }
        self.pid = pid
        self.output = outputPipe[0]
        self.errorOutput = errorPipe[0]
    }

    deinit {
        stop()
        close(output)
        close(errorOutput)
    }

    /// The exit status once the child has ended, reaping it; `nil` while it runs.
    func exitCode() -> Int32? {
        if let exitStatus { return exitStatus }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        exitStatus = Self.describe(status)
        return exitStatus
    }

    /// Ends the child's process group: SIGTERM, up to two seconds to go, then SIGKILL; always reaps the child.
    func stop() {
        guard exitStatus == nil else { return }
        kill(-pid, SIGTERM)
        for _ in 0..<200 {
            if exitCode() != nil {
                kill(-pid, SIGKILL)  // anything the command left behind in its group
                return
            }
            usleep(10_000)
        }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        exitStatus = Self.describe(status)
    }

    /// The exit code, or 128 + the signal number for a child killed by a signal, as shells report it.
    private static func describe(_ status: Int32) -> Int32 {
        let signal = status & 0x7F
        return signal == 0 ? (status >> 8) & 0xFF : 128 + signal
    }
}

private func withCStrings<Result>(
    _ strings: [String],
    _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result
) -> Result {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
