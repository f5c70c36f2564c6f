import { crc32 } from 'node:zlib';

/** Bytes the batch starts with and returns to after a batch that needed more. */
const INITIAL_BYTES = 64 * 1024;
/** A record of up to this many UTF-16 units is sized by its worst case (3 bytes a unit), not measured. */
const MEASURE_ABOVE_UNITS = 16 * 1024;
const SPACE = 0x20;
const NEWLINE = 0x0a;
const HEX_DIGITS = Buffer.from('0123456789abcdef', 'latin1');

/**
 * The bytes of one write of the journal: lines in record.ts's format (checksum, space, JSON,
 * newline) built in one reused buffer. Each record's JSON is converted to UTF-8 once, straight
 * into the buffer, and its checksum is computed over those bytes; building the line as a string
 * first converted it twice (once for the checksum, once for the write) and allocated the line
 * and the joined batch on top.
 */
export class LineBatch {
  private bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  private used = 0;

  /** Bytes in the batch. */
  get length(): number {
    return this.used;
  }

  /** Appends the line of a record's JSON text (the text of a JSON object). */
  addJson(json: string): void {
    const start = this.used;
    const bound = json.length > MEASURE_ABOVE_UNITS ? Buffer.byteLength(json) : json.length * 3;
    this.reserve(start + 10 + bound);
    const bytes = this.bytes;
    const n = bytes.write(json, start + 9, 'utf8');
    bytes[start + 8] = SPACE;
    bytes[start + 9 + n] = NEWLINE;
    const sum = crc32(bytes.subarray(start + 9, start + 9 + n));
    for (let shift = 28, at = start; shift >= 0; shift -= 4, at++) bytes[at] = HEX_DIGITS[(sum >>> shift) & 15]!;
    this.used = start + 10 + n;
  }

  /** The first `length` bytes (a view: valid until the next add or clear). */
  view(length = this.used): Buffer {
    return this.bytes.subarray(0, length);
  }

  /** Empties the batch; a buffer grown for a large batch is let go (a run must not hold megabytes for one big output). */
  clear(): void {
    this.used = 0;
    if (this.bytes.length > INITIAL_BYTES * 4) this.bytes = Buffer.allocUnsafe(INITIAL_BYTES);
  }

  private reserve(size: number): void {
    if (size <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(size, this.bytes.length * 2));
    this.bytes.copy(grown, 0, 0, this.used);
    this.bytes = grown;
  }
}
