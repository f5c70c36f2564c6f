/**
 * A string that V8 stores as one flat sequence of characters. Strings built by concatenation
 * (`randomUUID()` joins 16 hex pairs, a template literal adds a prefix) are trees of pieces,
 * ~32 bytes a piece: an id kept for long (a finished run's status) held ~0.5 KB where ~60 bytes
 * of characters suffice. A JSON round trip copies any string, lone surrogates included, into
 * one flat string.
 * @module
 */
export function flatString(value: string): string {
  return JSON.parse(JSON.stringify(value)) as string;
}
