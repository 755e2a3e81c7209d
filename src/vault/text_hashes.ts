/**
 * Ids of command texts by a 32-bit hash of the text: how a bulk write, which has dropped the
 * index of texts (`vault/bulk.ts`), finds whether a text it meets is stored already. A hint
 * only: a text's hash may name other texts' ids too, and an id may name a row another writer
 * deleted since, so every id it gives is checked against the row before it is used.
 *
 * An open-addressing table in two typed arrays (12 bytes a slot, at most half of them used):
 * 308k texts take 12 MiB, where a `Map` of the texts themselves held ~30 MiB in V8's heap and
 * more in its growth.
 *
 * @module
 */

/** A 32-bit hash of a string (FNV-1a over its UTF-16 code units), never 0 (an empty slot). */
export function textHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h === 0 ? 1 : h;
}

/** Texts held at most: the table then takes 12 bytes x 2^23 slots, 96 MiB. */
export const MAX_TEXT_HASHES = 1 << 22;

/** Command ids by the hash of their text; see the module. */
export class TextHashes {
  readonly #hash: (text: string) => number;
  #hashes: Int32Array;
  #ids: Float64Array;
  #size = 0;

  /**
   * @param hash The hash function ({@linkcode textHash}; tests give one that collides).
   * @param capacity Slots to start with (a power of two).
   */
  constructor(hash: (text: string) => number = textHash, capacity = 1 << 12) {
    this.#hash = hash;
    this.#hashes = new Int32Array(capacity);
    this.#ids = new Float64Array(capacity);
  }

  /** Texts held. */
  get size(): number {
    return this.#size;
  }

  /**
   * Holds the id of a text.
   *
   * @returns `false` when the table is full ({@linkcode MAX_TEXT_HASHES}): the id is not held.
   */
  add(text: string, id: number): boolean {
    if ((this.#size + 1) * 2 > this.#hashes.length) {
      if (this.#hashes.length * 2 > MAX_TEXT_HASHES * 2) return false;
      this.#grow();
    }
    this.#put(this.#hashOf(text), id);
    this.#size++;
    return true;
  }

  /** The ids held under the text's hash: its own, if held, among others'. */
  *candidates(text: string): Generator<number> {
    const h = this.#hashOf(text);
    const mask = this.#hashes.length - 1;
    for (let i = h & mask; this.#hashes[i] !== 0; i = (i + 1) & mask) {
      if (this.#hashes[i] === h) yield this.#ids[i]!;
    }
  }

  /** As an int32 other than 0 (which marks an empty slot). */
  #hashOf(text: string): number {
    return (this.#hash(text) | 0) || 1;
  }

  #put(h: number, id: number): void {
    const mask = this.#hashes.length - 1;
    let i = h & mask;
    while (this.#hashes[i] !== 0) i = (i + 1) & mask;
    this.#hashes[i] = h;
    this.#ids[i] = id;
  }

  #grow(): void {
    const hashes = this.#hashes;
    const ids = this.#ids;
    this.#hashes = new Int32Array(hashes.length * 2);
    this.#ids = new Float64Array(ids.length * 2);
    for (let i = 0; i < hashes.length; i++) if (hashes[i] !== 0) this.#put(hashes[i]!, ids[i]!);
  }
}
