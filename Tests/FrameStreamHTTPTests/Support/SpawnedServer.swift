import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// ExampleServer (or another program next to the tests) started with `posix_spawn`, for what `Process` cannot do:
/// a descriptor passed as descriptor 3, as systemd passes a socket. Its output goes to a log file.
final class SpawnedServer {
    let pid: pid_t
    let log: String
    private(set) var exitStatus: Int32?

    /// Starts `arguments[0]` (a path) with the environment given (on top of nothing but `PATH`), and `passing`, if
    /// given, as descriptor 3.
    init(_ arguments: [String], environment: [String: String], passing descriptor: Int32? = nil) throws {
        log = NSTemporaryDirectory() + "framestream-spawned-\(UUID().uuidString).log"
        let logDescriptor = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard logDescriptor >= 0 else { throw StandInFailure("cannot create \(log)") }
        defer { close(logDescriptor) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, logDescriptor, 1)
        posix_spawn_file_actions_adddup2(&actions, logDescriptor, 2)
        if let descriptor { posix_spawn_file_actions_adddup2(&actions, descriptor, 3) }
        let environment = environment.merging(["PATH": "/usr/bin:/bin"]) { given, _ in given }
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, nil, argv, envp)
        guard result == 0 else { throw StandInFailure("cannot start \(arguments[0]): errno \(result)") }
        self.pid = pid
    }

    /// What it wrote so far.
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Waits until its output contains `text` (at most 30 s, or until it exits).
    func waitForOutput(containing text: String) async throws -> String {
        for _ in 0..<600 {
            let output = self.output
            if output.contains(text) { return output }
            if hasExited() { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw StandInFailure("no output containing '\(text)': \(output)")
    }

    /// The port in its "serving … at http://127.0.0.1:PORT/" line.
    func port() async throws -> Int {
        let output = try await waitForOutput(containing: "serving ")
        guard let range = output.range(of: "://127.0.0.1:"),
            let port = Int(output[range.upperBound...].prefix(while: \.isNumber))
        else { throw StandInFailure("no port in: \(output)") }
        return port
    }

    /// Whether it has exited (and its status is known).
    func hasExited() -> Bool {
        if exitStatus != nil { return true }
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return false }
        exitStatus = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return true
    }

    /// Sends a signal, then waits for the exit (at most 30 s, then SIGKILL); returns the exit status.
    @discardableResult
    func stop(_ signal: Int32 = SIGTERM) async throws -> Int32 {
        kill(pid, signal)
        return try await waitForExit()
    }

    /// Waits for the exit (at most 30 s, then SIGKILL); returns the exit status.
    func waitForExit() async throws -> Int32 {
        for _ in 0..<600 {
            if hasExited() { return exitStatus! }
            try await Task.sleep(for: .milliseconds(50))
        }
        kill(pid, SIGKILL)
        _ = waitpid(pid, nil, 0)
        throw StandInFailure("did not exit within 30 s: \(output)")
    }

    deinit {
        if exitStatus == nil, !hasExited() {
            kill(pid, SIGKILL)
            _ = waitpid(pid, nil, 0)
        }
        try? FileManager.default.removeItem(atPath: log)
    }
}
