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
        // Close-on-exec from the start, not set afterwards with fcntl: a child another thread spawns in between must
        // not inherit our ends, or a write end it holds would keep us from ever seeing end-of-file.
        var outputPipe: [Int32] = [-1, -1]
        var errorPipe: [Int32] = [-1, -1]
        guard let pipe2 = Self.pipe2 else {
            throw .startFailed(command, reason: "this C library has no pipe2 (glibc 2.9 or later needed)")
        }
        guard pipe2(&outputPipe, O_CLOEXEC) == 0 else {
            throw .startFailed(command, reason: String(cString: strerror(errno)))
        }
        guard pipe2(&errorPipe, O_CLOEXEC) == 0 else {
            let reason = String(cString: strerror(errno))
            for fd in outputPipe { close(fd) }
            throw .startFailed(command, reason: reason)
        }
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

    /// glibc's `pipe2`, which the Glibc module does not export (its header declares it only under `_GNU_SOURCE`),
    /// looked up by name in the C library this process already uses.
    private static var pipe2: (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32)? {
        guard let symbol = dlsym(nil, "pipe2") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32).self)
    }

    /// The exit status, once ``stop()`` has reaped the child; `nil` before.
    func exitCode() -> Int32? {
        exitStatus
    }

    /// Ends the child's process group: SIGTERM, up to two seconds to go, then SIGKILL for the whole group (anything
    /// the command left behind); then reaps the child.
    ///
    /// The child is reaped only after the last signal to its group: until then it is at worst a zombie, which keeps
    /// its PID (and so the group's ID) reserved. Signalling `-pid` after `waitpid` could hit an unrelated process
    /// group that had since been given the same number.
    func stop() {
        guard exitStatus == nil else { return }
        if !hasExited() {
            kill(-pid, SIGTERM)
            for _ in 0..<200 where !hasExited() {
                usleep(10_000)
            }
        }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        exitStatus = Self.describe(status)
    }

    /// Whether the child has ended, without reaping it (`WNOWAIT`): an ended child stays a zombie until ``stop()``.
    private func hasExited() -> Bool {
        var info = siginfo_t()
        guard waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 else {
            return errno != EINTR  // ECHILD: nothing left to wait for
        }
        // With WNOHANG and a child still running, waitid succeeds and leaves the PID field zero.
        return info._sifields._kill.si_pid != 0
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
