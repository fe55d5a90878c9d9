import Foundation

/// Colour for people at a terminal: only when stdout is one (or CLICOLOR_FORCE is set to other
/// than 0), and never with NO_COLOR set.
enum Style {
    static let enabled: Bool = {
        let environment = ProcessInfo.processInfo.environment
        let forced = !(environment["CLICOLOR_FORCE"] ?? "").isEmpty && environment["CLICOLOR_FORCE"] != "0"
        return (isatty(STDOUT_FILENO) != 0 || forced) && (environment["NO_COLOR"] ?? "").isEmpty
    }()

    static func paint(_ text: String, _ code: String) -> String {
        enabled ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text
    }

    static func highlight(_ text: String) -> String { paint(text, "1;33") }

    static func status(_ text: String) -> String {
        switch text {
        case "FINISHED": paint(text, "32")
        case "FAILED": paint(text, "31")
        case "KILLED": paint(text, "35")
        case "RUNNING": paint(text, "36")
        default: text
        }
    }
}
