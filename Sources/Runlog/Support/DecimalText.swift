/// Decimal numbers as text, read fast where that can be done exactly.
///
/// `strtod` is correct for every input, but for the 17 significant digits that Python's `repr`
/// and `%.17g` write it takes its multi-precision path: about 800 instructions a number, most of
/// the cost of an `ingest` line. `quickDouble` reads the common case in a few dozen: the digits
/// (at most 19) into a 64-bit integer `w`, the decimal exponent `q` (|q| ≤ 27), then
/// `w × 10^q` or `w ÷ 10^-q` in 80-bit extended precision, where `w` and `10^|q|` are exact
/// and the product or quotient is rounded once. Rounding that to a double gives the correctly
/// rounded result unless the extended value lies within one of its units of a point halfway
/// between two doubles (where rounding twice could differ from rounding once); then, and for
/// everything else, it answers nil and the caller asks `strtod`.
public enum DecimalText {
    #if arch(x86_64) || arch(i386)
        /// 10^0 … 10^27, each exact in a 64-bit significand (5^27 < 2^64).
        private static let powersOfTen: [Float80] = {
            var powers: [Float80] = [1]
            for _ in 1...27 { powers.append(powers[powers.count - 1] * 10) }
            return powers
        }()
    #endif

    /// The double nearest to `bytes` when they are a plain decimal — an optional `-`, digits
    /// with an optional `.`, an optional exponent `e±d` — that the fast path reads exactly;
    /// nil otherwise (not such a decimal, too many digits, too large an exponent, a rounding
    /// too close to call, or a platform without extended precision).
    public static func quickDouble(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        #if arch(x86_64) || arch(i386)
            guard var cursor = bytes.baseAddress, !bytes.isEmpty else { return nil }
            let end = cursor + bytes.count
            let negative = cursor.pointee == UInt8(ascii: "-")
            if negative { cursor += 1 }
            let digitsStart = cursor
            // Leading zeros are not significant digits.
            while cursor < end, cursor.pointee == UInt8(ascii: "0") { cursor += 1 }
            var mantissa: UInt64 = 0
            var significantStart = cursor
            while cursor < end, case let digit = cursor.pointee &- UInt8(ascii: "0"), digit < 10 {
                mantissa = mantissa &* 10 &+ UInt64(digit)
                cursor += 1
            }
            var significant = cursor - significantStart
            var sawDigit = cursor > digitsStart
            var exponent = 0
            if cursor < end, cursor.pointee == UInt8(ascii: ".") {
                cursor += 1
                let fractionStart = cursor
                if significant == 0 {
                    while cursor < end, cursor.pointee == UInt8(ascii: "0") { cursor += 1 }
                }
                significantStart = cursor
                while cursor < end, case let digit = cursor.pointee &- UInt8(ascii: "0"), digit < 10 {
                    mantissa = mantissa &* 10 &+ UInt64(digit)
                    cursor += 1
                }
                significant += cursor - significantStart
                exponent = fractionStart - cursor
                sawDigit = sawDigit || cursor > fractionStart
            }
            // More than 19 digits may have wrapped the mantissa: strtod's to read.
            guard sawDigit, significant <= 19 else { return nil }
            if cursor < end, cursor.pointee | 0x20 == UInt8(ascii: "e") {
                cursor += 1
                var exponentNegative = false
                if cursor < end, cursor.pointee == UInt8(ascii: "-") || cursor.pointee == UInt8(ascii: "+") {
                    exponentNegative = cursor.pointee == UInt8(ascii: "-")
                    cursor += 1
                }
                let writtenStart = cursor
                var written = 0
                while cursor < end, case let digit = cursor.pointee &- UInt8(ascii: "0"), digit < 10 {
                    guard cursor - writtenStart < 4 else { return nil }
                    written = written * 10 + Int(digit)
                    cursor += 1
                }
                guard cursor > writtenStart else { return nil }
                exponent += exponentNegative ? -written : written
            }
            guard cursor == end else { return nil }
            if mantissa == 0 { return negative ? -0.0 : 0.0 }
            guard exponent >= -27, exponent <= 27 else { return nil }
            let whole = Float80(mantissa)
            let extended = exponent < 0 ? whole / powersOfTen[-exponent] : whole * powersOfTen[exponent]
            // The 11 bits a double drops: 0x400 is halfway; one unit either side is too close.
            let dropped = extended.significandBitPattern & 0x7FF
            guard dropped < 0x3FF || dropped > 0x401 else { return nil }
            let value = Double(extended)
            return negative ? -value : value
        #else
            return nil
        #endif
    }
}
