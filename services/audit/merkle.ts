import { createHash } from 'node:crypto';

/**
 * The Merkle tree of RFC 9162 (Certificate Transparency v2), section 2.1: SHA-256, a leaf hashed as
 * H(0x00 || entry), an interior node as H(0x01 || left || right), and a tree of n leaves split at the
 * largest power of two smaller than n. Proofs and their verification follow sections 2.1.3 and 2.1.4.
 *
 * The tree is read through `NodeSource`: the hash of a perfect subtree of 2^level leaves starting at
 * leaf index * 2^level. Such subtrees never change once complete, so a log keeps each one as it
 * completes and every range hash the proofs need is a handful of lookups.
 */
export type Hash = Buffer;

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

export function leafHash(entry: string | Buffer): Hash {
  return createHash('sha256').update(LEAF).update(entry).digest();
}

export function nodeHash(left: Hash, right: Hash): Hash {
  return createHash('sha256').update(NODE).update(left).update(right).digest();
}

/** The hash of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Hash = createHash('sha256').digest();

export interface NodeSource {
  /** Hash of the perfect subtree at `level` (0: a leaf) and `index` within that level. */
  node(level: number, index: number): Hash;
}

/** Largest power of two strictly smaller than n (n > 1). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n > 0 && 2 ** Math.round(Math.log2(n)) === n;

/** MTH(D[start:end]) for a range the RFC's recursion produces (its perfect parts are aligned). */
export function rangeHash(source: NodeSource, start: number, end: number): Hash {
  const n = end - start;
  if (n <= 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n) && start % n === 0) return source.node(Math.log2(n), start / n);
  const k = split(n);
  return nodeHash(rangeHash(source, start, start + k), rangeHash(source, start + k, end));
}

export function rootHash(source: NodeSource, size: number): Hash {
  return rangeHash(source, 0, size);
}

/** PATH(m, D[n]) of RFC 9162 2.1.3.1 over D[start:end]: the audit path of leaf `index`. */
export function inclusionProof(source: NodeSource, index: number, size: number): Hash[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is not in a tree of ${size}`);
  const path: Hash[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = split(n);
    if (m < k) {
      walk(m, start, start + k);
      path.push(rangeHash(source, start + k, end));
    } else {
      walk(m - k, start + k, end);
      path.push(rangeHash(source, start, start + k));
    }
  };
  walk(index, 0, size);
  return path;
}

/** PROOF(m, D[n]) of RFC 9162 2.1.4.1: shows the tree of `from` leaves is a prefix of the tree of `to`. */
export function consistencyProof(source: NodeSource, from: number, to: number): Hash[] {
  if (!(from > 0 && from <= to)) throw new RangeError(`no consistency proof from ${from} to ${to}`);
  const proof: Hash[] = [];
  const subproof = (m: number, start: number, end: number, complete: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!complete) proof.push(rangeHash(source, start, end));
      return;
    }
    const k = split(n);
    if (m <= k) {
      subproof(m, start, start + k, complete);
      proof.push(rangeHash(source, start + k, end));
    } else {
      subproof(m - k, start + k, end, false);
      proof.push(rangeHash(source, start, start + k));
    }
  };
  subproof(from, 0, to, true);
  return proof;
}

/** RFC 9162 2.1.3.2: the root an inclusion proof leads to, or undefined when the proof has the wrong shape. */
export function rootFromInclusionProof(index: number, size: number, leaf: Hash, proof: readonly Hash[]): Hash | undefined {
  if (!(index >= 0 && index < size)) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

export function verifyInclusion(index: number, size: number, leaf: Hash, proof: readonly Hash[], root: Hash): boolean {
  const computed = rootFromInclusionProof(index, size, leaf, proof);
  return computed !== undefined && computed.equals(root);
}

/** RFC 9162 2.1.4.2: does `proof` show the tree of `from` leaves with `fromRoot` is a prefix of the tree of `to` with `toRoot`? */
export function verifyConsistency(from: number, to: number, fromRoot: Hash, toRoot: Hash, proof: readonly Hash[]): boolean {
  if (from > to || from < 0) return false;
  if (from === to) return proof.length === 0 && fromRoot.equals(toRoot);
  if (from === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(from) ? [fromRoot, ...proof] : [...proof];
  let fn = from - 1;
  let sn = to - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && fr.equals(fromRoot) && sr.equals(toRoot);
}

/**
 * The right edge of a growing tree (the compact range of [0, size)): one perfect subtree root per set
 * bit of `size`. Appending a leaf merges equal-sized roots and reports each perfect subtree completed,
 * so a log can store it; the root of the whole tree needs only these O(log n) hashes.
 */
export class Frontier {
  /** Perfect subtree roots, largest (leftmost) first, with their levels. */
  private roots: Array<{ level: number; hash: Hash }> = [];
  size = 0;

  static from(size: number, source: NodeSource): Frontier {
    const frontier = new Frontier();
    let start = 0;
    for (let level = 52; level >= 0; level--) {
      const width = 2 ** level;
      if (size - start >= width) {
        frontier.roots.push({ level, hash: source.node(level, start / width) });
        start += width;
      }
    }
    frontier.size = size;
    return frontier;
  }

  /** Adds a leaf; returns the perfect subtrees it completed above level 0, lowest first. */
  append(leaf: Hash): Array<{ level: number; index: number; hash: Hash }> {
    const completed: Array<{ level: number; index: number; hash: Hash }> = [];
    let node = { level: 0, hash: leaf };
    let index = this.size;
    while (this.roots.length > 0 && this.roots[this.roots.length - 1]!.level === node.level) {
      const left = this.roots.pop()!;
      node = { level: node.level + 1, hash: nodeHash(left.hash, node.hash) };
      index = Math.floor(index / 2);
      completed.push({ level: node.level, index, hash: node.hash });
    }
    this.roots.push(node);
    this.size++;
    return completed;
  }

  root(): Hash {
    if (this.roots.length === 0) return EMPTY_ROOT;
    let hash = this.roots[this.roots.length - 1]!.hash;
    for (let i = this.roots.length - 2; i >= 0; i--) hash = nodeHash(this.roots[i]!.hash, hash);
    return hash;
  }
}

/** A whole tree in memory (the offline verifier, tests): every perfect subtree kept level by level. */
export class MemoryTree implements NodeSource {
  private readonly levels: Hash[][] = [[]];
  private readonly frontier = new Frontier();

  get size(): number {
    return this.frontier.size;
  }

  append(leaf: Hash): void {
    this.levels[0]!.push(leaf);
    for (const { level, index, hash } of this.frontier.append(leaf)) {
      (this.levels[level] ??= [])[index] = hash;
    }
  }

  node(level: number, index: number): Hash {
    const hash = this.levels[level]?.[index];
    if (!hash) throw new RangeError(`no complete subtree at level ${level}, index ${index}`);
    return hash;
  }

  root(size = this.size): Hash {
    return size === this.size ? this.frontier.root() : rootHash(this, size);
  }
}
