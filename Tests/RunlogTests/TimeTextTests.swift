import Foundation
import Runlog
import Testing

@Suite struct TimeTextTests {
    @Test func isoDatesAndTimesAreEpochMilliseconds() {
        let cases: [(String, Int64?)] = [
            ("1970-01-01", 0),
            ("2026-12-01", 1_796_083_200_000),
            ("2026-12-01T00:00", 1_796_083_200_000),
            ("2026-12-01 08:30", 1_796_113_800_000),
            ("2026-12-01t08:30:15Z", 1_796_113_815_000),
            ("2026-12-01T08:30:15.2", 1_796_113_815_200),
            ("2026-12-01T08:30:15.25", 1_796_113_815_250),
            ("2026-12-01T08:30:15.123456", 1_796_113_815_123),
            ("2026-12-01T09:30+01:00", 1_796_113_800_000),
            ("2026-12-01T03:00-0530", 1_796_113_800_000),
            ("2024-02-29", 1_709_164_800_000),
            ("1969-12-31T23:59:59Z", -1000),
            ("2023-02-29", nil), ("2026-13-01", nil), ("2026-00-10", nil), ("2026-04-31", nil),
            ("2026-12-01T24:00", nil), ("2026-12-01T08:60", nil), ("2026-12-01T08", nil),
            ("2026-12-01T08:30:15.", nil), ("2026-12-01T08:30Zjunk", nil), ("26-12-01", nil), ("", nil),
            ("2026-12-01T08:30+25:00", nil), ("１９７０-01-01", nil),
        ]
        for (text, expected) in cases {
            #expect(TimeText.epochMilliseconds(iso: text) == expected, "\(text)")
        }
        // Agrees with Foundation's parser wherever both read the text.
        let formatter = ISO8601DateFormatter()
        for text in ["2000-03-01T12:34:56Z", "2100-02-28T00:00:00Z", "1999-12-31T23:59:59Z"] {
            let foundation = formatter.date(from: text).map { Int64($0.timeIntervalSince1970 * 1000) }
            #expect(TimeText.epochMilliseconds(iso: text) == foundation, "\(text)")
        }
    }

    @Test func durationsHaveAUnit() {
        let cases: [(String, Int64?)] = [
            ("5ms", 5), ("90s", 90_000), ("2m", 120_000), ("2h", 7_200_000), ("30d", 2_592_000_000),
            ("1w", 604_800_000), ("0s", 0), ("2", nil), ("h", nil), ("-2h", nil), ("1.5h", nil), ("2 h", nil),
            ("2y", nil), ("99999999999999999d", nil),
        ]
        for (text, expected) in cases {
            #expect(TimeText.durationMilliseconds(text) == expected, "\(text)")
        }
    }
}
