import Foundation
import Runlog
import Testing

@Suite struct DecimalTextTests {
    private func quick(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { DecimalText.quickDouble($0) }
    }

    /// strtod's reading, bit for bit: the reference the fast path must match.
    private func reference(_ text: String) -> Double {
        text.withCString { strtod($0, nil) }
    }

    @Test func readsPlainDecimalsAndDeclinesTheRest() {
        #expect(quick("0") == 0 && quick("-0")?.sign == .minus)
        #expect(quick("2.5") == 2.5 && quick("-2.5") == -2.5 && quick(".5") == 0.5 && quick("5.") == 5)
        #expect(quick("1e3") == 1000 && quick("1E-3") == 0.001 && quick("1.5e+2") == 150)
        #expect(quick("0.1") == 0.1 && quick("123456789012345678") == Double(123_456_789_012_345_678 as Int64))
        for declined in ["", "-", ".", "e5", "1e", "1e+", "+1", "1.2.3", "0x10", "nan", "inf", " 1", "1 ", "1,5"] {
            #expect(quick(declined) == nil, "\(declined)")
        }
        // Past what the fast path reads exactly: left to strtod.
        #expect(quick("12345678901234567890") == nil)  // 20 significant digits
        #expect(quick("1e28") == nil && quick("1e-28") == nil && quick("1e99999") == nil)
        // Leading and trailing zeros are not significant digits (up to the 19 the path holds).
        #expect(quick("0.000000000000000000000000001") == 1e-27)
        #expect(quick("00000000000000000000000000012.5") == 12.5)
    }

    /// Every number the fast path answers equals strtod's answer bit for bit, over random decimals
    /// of 1 to 19 digits with the point anywhere and exponents across the path's range, and the
    /// shortest round-trip texts Python's repr and %.17g write, which it must mostly answer.
    @Test func agreesWithStrtodBitForBit() {
        var generator = SystemRandomNumberGenerator()
        var answered = 0
        var total = 0
        for _ in 0..<200_000 {
            let digits = Int.random(in: 1...19, using: &generator)
            var text = String((0..<digits).map { _ in Character(String(Int.random(in: 0...9, using: &generator))) })
            if Bool.random(using: &generator) {
                let point = Int.random(in: 0...digits, using: &generator)
                text.insert(".", at: text.index(text.startIndex, offsetBy: point))
                if text == "." { text = "0." }
            }
            if Int.random(in: 0..<3, using: &generator) == 0 {
                text += "e\(Int.random(in: -30...30, using: &generator))"
            }
            if Bool.random(using: &generator) { text = "-" + text }
            if let value = quick(text) {
                #expect(value.bitPattern == reference(text).bitPattern, "\(text)")
            }
        }
        for _ in 0..<100_000 {
            // Training-curve magnitudes: a random significand at 10^-8 … 10^11.
            let value =
                Double.random(in: -1...1, using: &generator)
                * pow(10, Double(Int.random(in: -8...11, using: &generator)))
            for text in [String(format: "%.17g", value), "\(value)"] {
                total += 1
                if let quick = quick(text) {
                    answered += 1
                    #expect(quick.bitPattern == value.bitPattern, "\(text)")
                }
            }
        }
        // Halfway cases: exactly between two doubles, where rounding twice goes wrong.
        for _ in 0..<50_000 {
            let bits = Int.random(in: 53..<63, using: &generator)
            let ulp = UInt64(1) << (bits - 52)
            let base = UInt64.random(in: (UInt64(1) << bits)..<(UInt64(1) << (bits + 1)), using: &generator)
            let halfway = (base & ~(ulp - 1)) + ulp / 2
            for n in [halfway - 1, halfway, halfway + 1] {
                for text in ["\(n)", "\(n)e-3", "\(n / 10).\(n % 10)"] {
                    if let value = quick(text) { #expect(value.bitPattern == reference(text).bitPattern, "\(text)") }
                }
            }
        }
        for text in [
            "9007199254740993", "9007199254740993.0", "4503599627370497.5", "1.0000000000000001110223024625156540",
        ] {
            if let value = quick(text) { #expect(value.bitPattern == reference(text).bitPattern, "\(text)") }
        }
        #expect(total > 100_000 && Double(answered) / Double(total) > 0.99, "answered \(answered) of \(total)")
    }
}
