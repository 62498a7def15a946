import { describe, expect, it } from 'vitest';
import {
  consistencyProof,
  EMPTY_ROOT,
  Frontier,
  inclusionProof,
  leafHash,
  MemoryTree,
  nodeHash,
  type Hash,
  verifyConsistency,
  verifyInclusion,
} from '../../../services/audit/merkle.js';

// The reference vectors of RFC 6962's implementations (certificate-transparency, transparency-dev/merkle):
// eight leaf inputs, the roots of the trees of 1..8 of them, and known inclusion and consistency proofs.
const inputs = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const roots = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const inclusionVectors: Array<{ index: number; size: number; proof: string[] }> = [
  { index: 0, size: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { index: 5, size: 8, proof: ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  { index: 1, size: 5, proof: ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
];
const consistencyVectors: Array<{ from: number; to: number; proof: string[] }> = [
  { from: 1, to: 8, proof: ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4'] },
  { from: 6, to: 8, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
  { from: 2, to: 5, proof: ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'] },
  { from: 6, to: 7, proof: ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'] },
];
const hex = (hashes: Hash[]) => hashes.map((h) => h.toString('hex'));
const fromHex = (hashes: string[]) => hashes.map((h) => Buffer.from(h, 'hex'));

function referenceRoot(leaves: Hash[]): Hash {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

describe('RFC 9162 Merkle tree', () => {
  const tree = new MemoryTree();
  for (const input of inputs) tree.append(leafHash(input));

  it('computes the reference roots of the trees of 1..8 leaves, and the empty tree', () => {
    expect(roots.map((_, i) => tree.root(i + 1).toString('hex'))).toEqual(roots);
    expect(new MemoryTree().root().toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it.each(inclusionVectors)('inclusion proof of leaf $index in a tree of $size matches the reference and verifies', ({ index, size, proof }) => {
    expect(hex(inclusionProof(tree, index, size))).toEqual(proof);
    const root = Buffer.from(roots[size - 1]!, 'hex');
    expect(verifyInclusion(index, size, leafHash(inputs[index]!), fromHex(proof), root)).toBe(true);
    // A wrong index, size, leaf, root, or a proof one element short or long fails.
    expect(verifyInclusion(index ^ 1, size, leafHash(inputs[index]!), fromHex(proof), root)).toBe(false);
    expect(verifyInclusion(index, size * 2, leafHash(inputs[index]!), fromHex(proof), root)).toBe(false);
    expect(verifyInclusion(index, size, leafHash(Buffer.from('x')), fromHex(proof), root)).toBe(false);
    expect(verifyInclusion(index, size, leafHash(inputs[index]!), fromHex(proof).slice(1), root)).toBe(false);
    expect(verifyInclusion(index, size, leafHash(inputs[index]!), [...fromHex(proof), root], root)).toBe(false);
  });

  it.each(consistencyVectors)('consistency proof from $from to $to matches the reference and verifies', ({ from, to, proof }) => {
    expect(hex(consistencyProof(tree, from, to))).toEqual(proof);
    const [a, b] = [Buffer.from(roots[from - 1]!, 'hex'), Buffer.from(roots[to - 1]!, 'hex')];
    expect(verifyConsistency(from, to, a, b, fromHex(proof))).toBe(true);
    expect(verifyConsistency(from, to, b, a, fromHex(proof))).toBe(false);
    expect(verifyConsistency(from, to, a, b, fromHex(proof).slice(0, -1))).toBe(false);
    expect(verifyConsistency(from, to, a, b, [])).toBe(false);
    for (let i = 0; i < proof.length; i++) {
      const flipped = fromHex(proof);
      flipped[i]![0]! ^= 16;
      expect(verifyConsistency(from, to, a, b, flipped)).toBe(false);
    }
  });

  it('every proof in trees of 1..70 leaves verifies against the recursive definition', () => {
    const leaves = Array.from({ length: 70 }, (_, i) => leafHash(`leaf ${i}`));
    const big = new MemoryTree();
    for (const leaf of leaves) big.append(leaf);
    for (let size = 1; size <= 70; size++) {
      const root = referenceRoot(leaves.slice(0, size));
      expect(big.root(size).equals(root)).toBe(true);
      for (let index = 0; index < size; index++) {
        expect(verifyInclusion(index, size, leaves[index]!, inclusionProof(big, index, size), root)).toBe(true);
      }
      for (let from = 1; from <= size; from++) {
        expect(verifyConsistency(from, size, big.root(from), root, consistencyProof(big, from, size))).toBe(true);
      }
    }
  });

  it('a frontier rebuilt from stored subtrees goes on to the same roots', () => {
    const leaves = Array.from({ length: 40 }, (_, i) => leafHash(`e${i}`));
    const full = new MemoryTree();
    for (const leaf of leaves.slice(0, 23)) full.append(leaf);
    const resumed = Frontier.from(23, full);
    expect(resumed.root().equals(full.root())).toBe(true);
    for (const leaf of leaves.slice(23)) {
      resumed.append(leaf);
      full.append(leaf);
      expect(resumed.root().equals(full.root())).toBe(true);
    }
  });
});
