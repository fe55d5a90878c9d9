/// Times and durations as people type them: ISO 8601 dates and times, and durations such as `2h`.
/// The filter language takes the first for time attributes (`attributes.start_time >
/// '2026-12-01T00:00'`); the CLI's `--since`, `--until` and `--older-than` take both.
public enum TimeText {
    /// Milliseconds since the epoch of an ISO 8601 date or date and time: `2026-12-01`,
    /// `2026-12-01T08:30`, `2026-12-01 08:30:15`, `2026-12-01T08:30:15.250Z`,
    /// `2026-12-01T08:30+01:00`. Without an offset the time is UTC; a date alone is its midnight.
    /// Nil when `text` is not one of these or names no real day or time.
    public static func epochMilliseconds(iso text: String) -> Int64? {
        var scanner = Digits(Array(text.utf8))
        guard let year = scanner.number(4), scanner.take("-"), let month = scanner.number(2), scanner.take("-"),
            let day = scanner.number(2), (1...12).contains(month), (1...daysIn(month, year)).contains(day)
        else { return nil }
        var seconds = daysFromEpoch(year, month, day) * 86_400
        var milliseconds: Int64 = 0
        if scanner.take("T") || scanner.take("t") || scanner.take(" ") {
            guard let hour = scanner.number(2), hour < 24, scanner.take(":"), let minute = scanner.number(2),
                minute < 60
            else { return nil }
            seconds += hour * 3600 + minute * 60
            if scanner.take(":") {
                guard let second = scanner.number(2), second < 60 else { return nil }
                seconds += second
                if scanner.take(".") {
                    let start = scanner.position
                    var fraction: Int64 = 0
                    while let digit = scanner.digit() {
                        if scanner.position - start <= 3 { fraction = fraction * 10 + digit }
                    }
                    let count = scanner.position - start
                    guard count > 0 else { return nil }
                    for _ in count..<max(count, 3) { fraction *= 10 }
                    milliseconds = fraction
                }
            }
            if scanner.take("Z") || scanner.take("z") {
            } else if let sign = scanner.sign() {
                guard let hours = scanner.number(2), hours < 24 else { return nil }
                _ = scanner.take(":")
                guard let minutes = scanner.number(2), minutes < 60 else { return nil }
                seconds -= sign * (hours * 3600 + minutes * 60)
            }
        }
        guard scanner.atEnd else { return nil }
        return seconds * 1000 + milliseconds
    }

    /// Milliseconds of a duration: a whole number and a unit, `ms`, `s`, `m`, `h`, `d` or `w`
    /// (`90s`, `2h`, `30d`). Nil for anything else, or one that overflows.
    public static func durationMilliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [
            ("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000), ("w", 604_800_000),
        ]
        for (unit, scale) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            // "5ms" also ends in "s": the longer unit is tried first and a number must be all digits.
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int64(number)
            else { continue }
            let (product, overflow) = value.multipliedReportingOverflow(by: scale)
            return overflow ? nil : product
        }
        return nil
    }

    private static func isLeap(_ year: Int64) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    private static func daysIn(_ month: Int64, _ year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days from 1970-01-01 to the date (the proleptic Gregorian calendar's civil-from-days inverse).
    private static func daysFromEpoch(_ year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// A cursor over ASCII bytes.
    private struct Digits {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position == bytes.count }

        mutating func take(_ character: Character) -> Bool {
            guard position < bytes.count, bytes[position] == character.asciiValue else { return false }
            position += 1
            return true
        }

        mutating func digit() -> Int64? {
            guard position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) else {
                return nil
            }
            defer { position += 1 }
            return Int64(bytes[position] - UInt8(ascii: "0"))
        }

        /// Exactly `count` digits.
        mutating func number(_ count: Int) -> Int64? {
            var value: Int64 = 0
            for _ in 0..<count {
                guard let digit = digit() else { return nil }
                value = value * 10 + digit
            }
            return value
        }

        mutating func sign() -> Int64? {
            if take("+") { return 1 }
            if take("-") { return -1 }
            return nil
        }
    }
}
