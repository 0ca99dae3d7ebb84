// What every numeric text input accepts (flags, trace CSVs, synthetic specs): a plain decimal.
// 12, -3, 0.5, .5, 5., 1e3, 2.5E-3: no hex (Number('0x10') is 16), binary, octal, Infinity,
// separators or blanks.
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function isDecimal(s: string): boolean {
  return DECIMAL.test(s);
}
