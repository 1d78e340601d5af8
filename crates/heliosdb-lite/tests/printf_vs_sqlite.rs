//! `printf()` / `format()` against the bundled SQLite: every conversion with the flags
//! `- + space 0 # , !`, widths and precisions written out and taken from the arguments
//! (`*`), multi-byte text, NULL, non-numeric and missing arguments, huge widths and
//! precisions, unknown conversions. Each expression must give the same value in both.

#[path = "functions/agree.rs"]
mod agree;

const CASES: &[(&str, &[&str])] = &[
    (
        "integers",
        &[
            "printf('%d|%i|%u', 42, -42, -1)",
            "printf('%5d|%-5d|%05d|%+d|% d|%+05d|%-05d', 42, 42, 42, 42, 42, 42, 42)",
            "printf('%.5d|%8.5d|%-8.5d|%.0d|%.0d', 42, -42, 42, 0, 7)",
            "printf('%,d|%,d|%,d|%,d|%010,d', 1234567, -1234567, 999, 1000, 1234)",
            "printf('%x|%X|%o|%#x|%#X|%#o|%#x|%#o', 255, 255, 8, 255, 255, 8, 0, 0)",
            "printf('%x|%o|%u', -1, -1, -2)",
            "printf('%p|%#p|%10p', 255, 255, 4096)",
            "printf('%08x|%-8X|%#010x|%+x|% x', 3054, 3054, 3054, 5, 5)",
            "printf('%lld|%ld|%lli|%llx', 9223372036854775807, -9223372036854775808, 1, 255)",
            "printf('%d|%d|%d|%d|%d', 3.99, -3.99, '12abc', 'abc', '1e3')",
            "printf('%d|%d|%d', ' 17', x'3132', 1e30)",
            "printf('%d|%x|%u', NULL, NULL, NULL)",
            "printf('%+ d|% +d', 5, 5)",
            "printf('%d %d %d', 1)",
            "printf('%r|%r|%r|%r|%r|%r|%r|%r', 1, 2, 3, 4, 11, 12, 13, 101)",
            "printf('%r|%5r|%-6r|%.4r|%r|%r', 22, 3, 23, 1, 0, -1)",
            "printf('%,u|%,x|%,i', 1234567, 1234567, 1234567)",
        ],
    ),
    (
        "star",
        &[
            "printf('%*d', 5, 42)",
            "printf('%-*d|', 5, 42)",
            "printf('%*d|', -5, 42)",
            "printf('%.*f', 2, 3.14159)",
            "printf('%*.*f', 10, 3, 3.14159)",
            "printf('%.*f', -2, 3.14159)",
            "printf('%.*s', 3, 'abcdef')",
            "printf('%*s|', '4', 'ab')",
            "printf('%*d', NULL, 42)",
            "printf('%*d')",
            "printf('%0*d', 6, -42)",
            "printf('%*ld', 6, 42)",
        ],
    ),
    (
        "reals",
        &[
            "printf('%f|%.2f|%10.3f|%-10.1f|%010.2f|%+.1f|% .1f', 3.14159, 3.14159, \
             3.14159, 3.14159, -3.14159, 2.0, 2.0)",
            "printf('%.0f|%.0f|%.0f|%.0f|%#.0f', 0.5, 1.5, 2.5, -0.5, 3.0)",
            "printf('%.2f|%.2f|%.2f|%.3f', 0.125, 0.375, 1.005, 2.0005)",
            "printf('%.20f|%!.20f|%.30f', 0.1, 0.1, 1.0/3)",
            "printf('%e|%.2e|%E|%.0e|%#.0e', 12345.678, 0.000123, 1e100, 5.0, 5.0)",
            "printf('%e|%e|%.3e', 1e-300, 1.7976931348623157e308, -9.9996)",
            "printf('%g|%g|%g|%g|%g|%g', 100000.0, 1000000.0, 0.0001, 0.00001, 1.5, 0.0)",
            "printf('%G|%.3g|%#g|%.10g|%!g|%.0g', 1e-10, 3.14159, 1.5, 1.0/3, 1.0, 123.0)",
            "printf('%,f|%,.2f|%,.0f|%,g', 1234567.891, -1234567.891, 999.0, 1234567.0)",
            "printf('%f|%e|%g', 42, '2.5x', NULL)",
            "printf('%f|%f|%e', 1e308 * 10, -1e308 * 10, 1e308 * 10)",
            "printf('%5.1f|%-8.2e|%012.4e|%+g', 9.96, 1234.5, -0.000123, 1e20)",
            "printf('%.15g|%.16g|%.17g|%!.17g', 0.1, 0.1, 0.1, 0.1)",
            "printf('%f|%.3f', 123456789012345678.0, 0.0005)",
            "printf('%.1f|%.1f|%.1f', 0.05, 0.15, 0.25)",
            "printf('%f', -0.0)",
            "printf('%.100f', 1.0)",
            "printf('%.2f|%.2f|%.2f|%.2f', 1e15, 1e16 + 1, 2.675, 1.115)",
            "printf('%g|%g|%g|%g', 123456.0, 1234567.0, 1e-4, 123.456e10)",
            "printf('%#g|%#.3g|%#x|%#.0f', 1.0, 100.0, 0, 1.0)",
            "printf('%!e|%!g|%!f|%!.3f', 0.1, 0.1, 0.1, 2.5)",
            "printf('%e|%g|%f', '1e3', ' 2.5', 'x')",
            "printf('%5.3s|%-5.1s|%.0s|', 'héllo', 'héllo', 'abc')",
        ],
    ),
    (
        "characters",
        &[
            "printf('%c|%c|%c', 'hello', 'é!', 65)",
            "printf('%.3c|%-5c|%5c|%5.3c|%-5.3c|', 'ab', 'x', 'y', 'z', 'w')",
            "printf('%.4c|%3c|', 'é', 'é')",
            "printf('%.0c|%.1c|', 'q', 'q')",
        ],
    ),
    (
        "strings",
        &[
            "printf('%s|%10s|%-10s|%.2s|%5.1s|', 'abc', 'abc', 'abc', 'abc', 'abc')",
            "printf('%5s|%!5s|%-5s|%!-5s|', 'é', 'é', 'é', 'é')",
            "printf('%!.2s|%.4s|', 'héllo', 'héllo')",
            "printf('%s|%s|%s', 1, 2.5, x'6869')",
            "printf('%s|%10s|', NULL, NULL)",
            "printf('%z|%10z|', 'zz', 'zz')",
            "printf('%s and %s', 'one')",
            "printf('%s', 100000000000000000000.0)",
        ],
    ),
    (
        "quoting",
        &[
            "printf('%q|%Q|%w', 'it''s', 'it''s', 'a\"b')",
            "printf('%q|%Q|%w', NULL, NULL, NULL)",
            "printf('%Q|%q|%Q', 12, 1.5, '')",
            "printf('%.3q|%.3Q|%10Q|%-10q|', 'a''bcd', 'a''bcd', 'x''y', 'x''y')",
            "printf('%!.2Q|%.2Q|', 'éé''', 'ab')",
            "printf('%5w|%-5w|', 'a\"', 'a\"')",
        ],
    ),
    (
        "other",
        &[
            "printf('%%|%5%|%-5%|')",
            "printf('100%')",
            "printf('a%nb', 5)",
            "printf('x%yz', 1)",
            "printf('%d%T%d', 1, 2)",
            "printf('%5')",
            "printf('%-')",
            "printf('')",
            "printf('%y')",
            "printf('%*y', 3)",
            "printf('%s', '')",
            "printf('%n')",
            "printf('%')",
            "printf('%.0c', 'x')",
            "printf(NULL, 1)",
            "printf(12, 3)",
            "printf('%s')",
            "printf('no conversions', 1, 2)",
            "format('%s=%d', 'a', 1)",
            "format('%*d', 3, 1)",
            "printf('%5d|%5s', 'é', 'éé')",
            "length(printf('%1000000d', 1))",
            "length(printf('%.1000000f', 1))",
            "length(printf('%.*c', 100000, 'ab'))",
            "printf('%2147483648d', 1)",
            "printf('%.2147483648d', 1)",
        ],
    ),
];

#[test]
fn printf_agrees_with_sqlite() {
    agree::assert_agree(CASES);
}
