/**
 * WireGuard's cryptokey routing table: IPv4 and IPv6 prefixes mapped to a peer.
 *
 * Outbound, the destination address picks the peer (longest-prefix match); inbound, a
 * decrypted packet is dropped unless its source address maps back to the peer it came from.
 * Both run once per packet, so the table is a path-compressed binary trie (one root per
 * family, as in wireguard-go) whose nodes keep their prefix as 32-bit words plus ready-made
 * masks: matching a node costs one XOR/AND per word and no allocation.
 */

class Node<T> {
  readonly cidr: number;
  readonly bytes: 4 | 16; // the family: 4 for IPv4, 16 for IPv6
  // The prefix as big-endian 32-bit words (int32), host bits cleared; IPv4 uses w0 only.
  readonly w0: number;
  readonly w1: number;
  readonly w2: number;
  readonly w3: number;
  // Per-word masks of the first `cidr` bits, so a match test needs no branching on cidr.
  readonly m0: number;
  readonly m1: number;
  readonly m2: number;
  readonly m3: number;
  // Which word, and which shift within it, hold the bit just past the prefix; it picks the child.
  readonly bitWord: number;
  readonly bitShift: number;
  zero: Node<T> | null = null;
  one: Node<T> | null = null;
  parent: Node<T> | null = null;
  // Nodes without a value are the branch points path compression creates; they always have two children.
  hasValue = false;
  value: T | undefined = undefined;

  constructor(key: Int32Array, cidr: number, bytes: 4 | 16) {
    this.cidr = cidr;
    this.bytes = bytes;
    this.m0 = wordMask(cidr, 0);
    this.m1 = wordMask(cidr, 1);
    this.m2 = wordMask(cidr, 2);
    this.m3 = wordMask(cidr, 3);
    this.w0 = key[0]! & this.m0;
    this.w1 = key[1]! & this.m1;
    this.w2 = key[2]! & this.m2;
    this.w3 = key[3]! & this.m3;
    this.bitWord = cidr >>> 5;
    this.bitShift = 31 - (cidr & 31);
  }
}

/** The mask of the bits of word `i` (0-based, 32 bits each) that lie within the first `cidr` bits. */
function wordMask(cidr: number, i: number): number {
  const bits = cidr - 32 * i;
  if (bits <= 0) return 0;
  if (bits >= 32) return -1;
  return -1 << (32 - bits);
}

function readWord(b: Uint8Array, o: number): number {
  return (b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!;
}

function nodeWord<T>(node: Node<T>, i: number): number {
  return i === 0 ? node.w0 : i === 1 ? node.w1 : i === 2 ? node.w2 : node.w3;
}

/** How many leading bits the node's prefix and `key` share (128 if all of them). */
function commonBits<T>(node: Node<T>, key: Int32Array): number {
  for (let i = 0; i < 4; i++) {
    const diff = nodeWord(node, i) ^ key[i]!;
    if (diff !== 0) return 32 * i + Math.clz32(diff);
  }
  return 128;
}

function keyBit(key: Int32Array, bit: number): 0 | 1 {
  return ((key[bit >>> 5]! >>> (31 - (bit & 31))) & 1) as 0 | 1;
}

function nodeBit<T>(node: Node<T>, bit: number): 0 | 1 {
  return ((nodeWord(node, bit >>> 5) >>> (31 - (bit & 31))) & 1) as 0 | 1;
}

export class AllowedIps<T> {
  private root4: Node<T> | null = null;
  private root6: Node<T> | null = null;
  // Every prefix of a peer, for removeValue and entriesOf without walking the tries.
  private readonly byValue = new Map<T, Set<Node<T>>>();
  // The masked prefix being inserted or removed, as four words (IPv4: the last three are 0).
  private readonly key = new Int32Array(4);
  /** Called after every change (a fast path keeps a copy of the table). */
  onChange: (() => void) | null = null;

  /**
   * Routes `addr/cidr` (4 or 16 bytes) to `value`. Host bits beyond `cidr` are ignored, so
   * 10.0.0.7/24 is stored as 10.0.0.0/24. An existing prefix moves to the new value, as in WireGuard.
   */
  insert(addr: Uint8Array, cidr: number, value: T): void {
    this.insertNode(addr, cidr, value);
    this.onChange?.();
  }

  private insertNode(addr: Uint8Array, cidr: number, value: T): void {
    const bytes = this.loadKey(addr, cidr);
    const key = this.key;
    const root = bytes === 4 ? this.root4 : this.root6;
    if (root === null) {
      this.setRoot(bytes, this.newLeaf(cidr, bytes, value));
      return;
    }
    let node = root;
    for (;;) {
      const common = Math.min(commonBits(node, key), node.cidr, cidr);
      if (common === node.cidr) {
        if (cidr === node.cidr) {
          this.assign(node, value);
          return;
        }
        // The new prefix lies inside this node's: continue down the side its next bit selects.
        const bit = keyBit(key, node.cidr);
        const child = bit === 0 ? node.zero : node.one;
        if (child === null) {
          this.attach(node, bit, this.newLeaf(cidr, bytes, value));
          return;
        }
        node = child;
        continue;
      }
      const leaf = this.newLeaf(cidr, bytes, value);
      if (common === cidr) {
        // The new prefix contains this node's: it takes the node's place and adopts it.
        this.replace(node, leaf);
        this.attach(leaf, nodeBit(node, cidr), node);
      } else {
        // The prefixes diverge at bit `common`: a branch node there holds both.
        const branch = new Node<T>(key, common, bytes);
        this.replace(node, branch);
        this.attach(branch, nodeBit(node, common), node);
        this.attach(branch, keyBit(key, common), leaf);
      }
      return;
    }
  }

  /** Removes the route for exactly `addr/cidr` (host bits ignored). Returns whether there was one. */
  remove(addr: Uint8Array, cidr: number): boolean {
    const bytes = this.loadKey(addr, cidr);
    const key = this.key;
    let node = bytes === 4 ? this.root4 : this.root6;
    while (node !== null && node.cidr <= cidr && commonBits(node, key) >= node.cidr) {
      if (node.cidr === cidr) {
        if (!node.hasValue) return false;
        this.forget(node);
        this.unlink(node);
        this.onChange?.();
        return true;
      }
      node = keyBit(key, node.cidr) === 0 ? node.zero : node.one;
    }
    return false;
  }

  /** Removes every route to `value` (a peer being removed). Returns how many there were. */
  removeValue(value: T): number {
    const nodes = this.byValue.get(value);
    if (nodes === undefined) return 0;
    this.byValue.delete(value);
    for (const node of nodes) this.unlink(node);
    this.onChange?.();
    return nodes.size;
  }

  /**
   * Longest-prefix match of the 4- or 16-byte address at `addr[offset..offset+length)`, read in
   * place so a packet's source or destination needs no copy. `length` defaults to the rest of `addr`.
   */
  lookup(addr: Uint8Array, offset = 0, length?: 4 | 16): T | undefined {
    const len = length ?? addr.length - offset;
    // `offset >>> 0 !== offset` also rejects negative and fractional offsets.
    if (offset >>> 0 !== offset || offset + len > addr.length || (len !== 4 && len !== 16)) {
      throw new RangeError(
        `lookup: need a 4- or 16-byte address within the ${addr.length}-byte buffer, got ${len} bytes at offset ${offset}`,
      );
    }
    let found: T | undefined;
    const a0 = readWord(addr, offset);
    if (len === 4) {
      let node = this.root4;
      while (node !== null && ((a0 ^ node.w0) & node.m0) === 0) {
        if (node.hasValue) found = node.value;
        // Whatever bit is read at a /32 leads nowhere: such a node has no children.
        node = ((a0 >>> node.bitShift) & 1) === 0 ? node.zero : node.one;
      }
      return found;
    }
    const a1 = readWord(addr, offset + 4);
    const a2 = readWord(addr, offset + 8);
    const a3 = readWord(addr, offset + 12);
    let node = this.root6;
    while (
      node !== null &&
      (((a0 ^ node.w0) & node.m0) |
        ((a1 ^ node.w1) & node.m1) |
        ((a2 ^ node.w2) & node.m2) |
        ((a3 ^ node.w3) & node.m3)) ===
        0
    ) {
      if (node.hasValue) found = node.value;
      const i = node.bitWord;
      const word = i === 0 ? a0 : i === 1 ? a1 : i === 2 ? a2 : a3;
      node = ((word >>> node.bitShift) & 1) === 0 ? node.zero : node.one;
    }
    return found;
  }

  /** The prefixes routed to `value`, in the order they were assigned to it (for `wg show`). */
  entriesOf(value: T): Array<{ addr: Uint8Array; cidr: number }> {
    const out: Array<{ addr: Uint8Array; cidr: number }> = [];
    for (const node of this.byValue.get(value) ?? []) {
      const addr = new Uint8Array(node.bytes);
      const view = new DataView(addr.buffer);
      for (let i = 0; i < node.bytes / 4; i++) view.setInt32(4 * i, nodeWord(node, i));
      out.push({ addr, cidr: node.cidr });
    }
    return out;
  }

  clear(): void {
    this.root4 = null;
    this.root6 = null;
    this.byValue.clear();
    this.onChange?.();
  }

  /** Every value that has a route. */
  values(): IterableIterator<T> {
    return this.byValue.keys();
  }

  /** Validates a prefix and loads it, masked, into `this.key`. Returns the address length. */
  private loadKey(addr: Uint8Array, cidr: number): 4 | 16 {
    const bytes = addr.length;
    if (bytes !== 4 && bytes !== 16) {
      throw new RangeError(`address must be 4 (IPv4) or 16 (IPv6) bytes, got ${bytes}`);
    }
    const max = bytes * 8;
    if (!Number.isInteger(cidr) || cidr < 0 || cidr > max) {
      throw new RangeError(`cidr ${cidr} is out of range for IPv${bytes === 4 ? 4 : 6} (0-${max})`);
    }
    const key = this.key;
    for (let i = 0; i < 4; i++) key[i] = 4 * i < bytes ? readWord(addr, 4 * i) & wordMask(cidr, i) : 0;
    return bytes;
  }

  private newLeaf(cidr: number, bytes: 4 | 16, value: T): Node<T> {
    const node = new Node<T>(this.key, cidr, bytes);
    this.assign(node, value);
    return node;
  }

  private assign(node: Node<T>, value: T): void {
    if (node.hasValue) {
      if (node.value === value) return;
      this.forget(node);
    }
    node.hasValue = true;
    node.value = value;
    let nodes = this.byValue.get(value);
    if (nodes === undefined) {
      nodes = new Set();
      this.byValue.set(value, nodes);
    }
    nodes.add(node);
  }

  /** Takes `node` out of its value's set, and the set out of `byValue` once empty, so removed peers can be collected. */
  private forget(node: Node<T>): void {
    const value = node.value as T;
    const nodes = this.byValue.get(value);
    if (nodes === undefined) return;
    nodes.delete(node);
    if (nodes.size === 0) this.byValue.delete(value);
  }

  /**
   * Drops the value of `node` (already taken out of `byValue`) and restores the trie's shape:
   * a valueless node with fewer than two children is spliced out, which may in turn leave its
   * parent, if that is a branch node, with a single child.
   */
  private unlink(node: Node<T>): void {
    node.hasValue = false;
    node.value = undefined;
    if (node.zero !== null && node.one !== null) return;
    const child = node.zero ?? node.one;
    const parent = node.parent;
    this.replace(node, child);
    if (child === null && parent !== null && !parent.hasValue) {
      this.replace(parent, parent.zero ?? parent.one);
    }
  }

  /** Puts `replacement` where `old` hangs (under its parent or as a root). */
  private replace(old: Node<T>, replacement: Node<T> | null): void {
    const parent = old.parent;
    if (replacement !== null) replacement.parent = parent;
    if (parent === null) this.setRoot(old.bytes, replacement);
    else if (parent.zero === old) parent.zero = replacement;
    else parent.one = replacement;
  }

  private attach(parent: Node<T>, bit: 0 | 1, child: Node<T>): void {
    child.parent = parent;
    if (bit === 0) parent.zero = child;
    else parent.one = child;
  }

  private setRoot(bytes: 4 | 16, node: Node<T> | null): void {
    if (bytes === 4) this.root4 = node;
    else this.root6 = node;
  }
}
