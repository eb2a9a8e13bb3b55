/**
 * ASCII character classes shared by the front end's hand-written scanners (the nesting
 * pre-scan of Lua text, nesting.ts, and the C declaration lexer, ctypes/lexer.ts): one table
 * by character code, built without regular expressions so that nothing is compiled when the
 * module loads.
 */

/** A-Z a-z _ : may start a name. */
export const NAME_START = 1;
/** A-Z a-z _ 0-9 : may continue a name. */
export const NAME_PART = 2;
/** 0-9 */
export const DIGIT = 4;
/** A-Z a-z _ 0-9 . : may continue a number (hexadecimal digits, exponents, suffixes). */
export const NUMBER_PART = 8;

const CLASSES = (() => {
  const t = new Uint8Array(128);
  for (let c = 0; c < 128; c++) {
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x5f) t[c] = NAME_START | NAME_PART | NUMBER_PART;
    if (c >= 0x30 && c <= 0x39) t[c] = NAME_PART | DIGIT | NUMBER_PART;
  }
  t[0x2e] = NUMBER_PART; // .
  return t;
})();

/** Whether the code unit at `at` of `text` is in class `cls` (false past the end and beyond ASCII). */
export function isClass(text: string, at: number, cls: number): boolean {
  const c = text.charCodeAt(at); // NaN past the end: not below 128
  return c < 128 && (CLASSES[c]! & cls) !== 0;
}

/** The classes of character code `code` as a bit set (0 beyond ASCII). */
export function classOf(code: number): number {
  return code < 128 ? CLASSES[code]! : 0;
}
