/**
 * What an oversized `result` frame was carrying, read from the bytes buffered up to the cap (the
 * frame is never parsed whole: it is over the cap, and may be endless). A well-behaved child
 * writes `{"__qicoord":1,"type":"result","subtaskId":"…","outputs":{"name":value,…}}` in that
 * key order; this scans that prefix for the subtask and the size of each output value seen, so
 * the error can name the subtask, the output, and the setting that raises the cap. Anything
 * else (another message type, another layout) yields undefined and the generic error stands.
 *
 * Untrusted bytes: every name taken from them is capped in length, and the scan is a single
 * linear pass without recursion.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;
/** Longest subtask id or output name reported (the protocol allows 200 characters for an id). */
const MAX_NAME_CHARS = 200;
/** Control characters (C0, DEL, C1). */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
const RESULT_HEAD = /^\{"__qicoord":1,"type":"result","subtaskId":("(?:[^"\\]|\\.){1,400}"),"outputs":\{/;

/** The subtask an oversized result names, and its largest output seen (`atLeast`: cut off by the cap). */
export interface OversizedResult {
  readonly subtaskId: string;
  readonly output?: { readonly name: string; readonly bytes: number; readonly atLeast: boolean };
}

/** Index after the JSON string starting at `i` (a quote), or -1 when the bytes end first. */
function skipString(bytes: Uint8Array, i: number): number {
  for (let j = i + 1; j < bytes.length; j++) {
    if (bytes[j] === BACKSLASH) j++;
    else if (bytes[j] === QUOTE) return j + 1;
  }
  return -1;
}

/** Index after the JSON value starting at `i`, or -1 when the bytes end first. */
function skipValue(bytes: Uint8Array, i: number): number {
  if (bytes[i] === QUOTE) return skipString(bytes, i);
  let depth = 0;
  for (let j = i; j < bytes.length; j++) {
    const b = bytes[j];
    if (b === QUOTE) {
      j = skipString(bytes, j) - 1;
      if (j < 0) return -1;
    } else if (b === OPEN_OBJECT || b === OPEN_ARRAY) depth++;
    else if (b === CLOSE_OBJECT || b === CLOSE_ARRAY) {
      if (depth === 0) return j;
      depth--;
      if (depth === 0) return j + 1;
    } else if (b === COMMA && depth === 0) return j;
  }
  return -1;
}

function readName(bytes: Uint8Array, start: number, end: number): string | undefined {
  try {
    const name: unknown = JSON.parse(Buffer.from(bytes.subarray(start, end)).toString('utf8'));
    // Printed in an error a terminal shows: no control characters from the child.
    return typeof name === 'string' ? name.slice(0, MAX_NAME_CHARS).replace(CONTROL, '?') : undefined;
  } catch {
    return undefined;
  }
}

/** Reads an oversized frame's buffered prefix; undefined unless it is a result in the usual layout. */
export function inspectOversizedResult(bytes: Uint8Array): OversizedResult | undefined {
  const head = RESULT_HEAD.exec(Buffer.from(bytes.subarray(0, 512)).toString('latin1'));
  if (head === null) return undefined;
  const idLiteral = head[1]!;
  const subtaskId = readName(bytes, head[0].length - idLiteral.length - ',"outputs":{'.length, head[0].length - ',"outputs":{'.length);
  if (subtaskId === undefined) return undefined;
  let largest: OversizedResult['output'];
  let i = head[0].length;
  while (i < bytes.length && bytes[i] === QUOTE) {
    const keyEnd = skipString(bytes, i);
    if (keyEnd < 0 || bytes[keyEnd] !== COLON) break;
    const name = readName(bytes, i, keyEnd);
    if (name === undefined) break;
    const valueStart = keyEnd + 1;
    const valueEnd = skipValue(bytes, valueStart);
    const size = (valueEnd < 0 ? bytes.length : valueEnd) - valueStart;
    if (largest === undefined || size > largest.bytes) largest = { name, bytes: size, atLeast: valueEnd < 0 };
    if (valueEnd < 0 || bytes[valueEnd] !== COMMA) break;
    i = valueEnd + 1;
  }
  return largest === undefined ? { subtaskId } : { subtaskId, output: largest };
}
