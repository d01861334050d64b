/**
 * A growable set of small integers. Each stream keeps one of the devices it was sent, by their
 * index in the DeviceIndex: a network of 10,000 devices costs 1.25 KB per stream, where a Set of
 * ids would cost hundreds of KB.
 */
export class Bitset {
  private words = new Uint32Array(8);

  has(i: number): boolean {
    const w = i >>> 5;
    return w < this.words.length && (this.words[w]! & (1 << (i & 31))) !== 0;
  }

  add(i: number): void {
    const w = i >>> 5;
    if (w >= this.words.length) {
      const grown = new Uint32Array(Math.max(w + 1, this.words.length * 2));
      grown.set(this.words);
      this.words = grown;
    }
    this.words[w]! |= 1 << (i & 31);
  }

  delete(i: number): void {
    const w = i >>> 5;
    if (w < this.words.length) this.words[w]! &= ~(1 << (i & 31));
  }

  clear(): void {
    this.words.fill(0);
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let w = 0; w < this.words.length; w++) {
      let bits = this.words[w]!;
      while (bits !== 0) {
        const low = bits & -bits;
        yield w * 32 + (31 - Math.clz32(low));
        bits ^= low;
      }
    }
  }
}

/** Gives every device id a small integer for Bitsets, for as long as the server runs. */
export class DeviceIndex {
  private readonly byId = new Map<string, number>();
  private readonly ids: string[] = [];

  of(id: string): number {
    let i = this.byId.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.ids.push(id);
      this.byId.set(id, i);
    }
    return i;
  }

  id(i: number): string {
    const id = this.ids[i];
    if (id === undefined) throw new Error(`no device has index ${i}`);
    return id;
  }
}
