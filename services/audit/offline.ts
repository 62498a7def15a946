import type { KeyObject } from 'node:crypto';
import type { RecordedEvent } from '../../events/envelope.js';
import type { SignedDigest } from '../ports/audit-log.js';
import { describeChange, missingReason } from './breaks.js';
import { digestSignatureHolds } from './digest.js';
import type { ExportLine } from './export.js';
import { eventLeafHash } from './leaf.js';
import { MemoryTree, verifyConsistency, verifyInclusion } from './merkle.js';

export interface OfflineBreak {
  streamId: string;
  revision: number;
  position: string;
  reason: string;
}

export interface OfflineReport {
  ok: boolean;
  /** Problems with the digests or the tree as a whole. */
  problems: string[];
  /** Every event that does not fit. */
  breaks: OfflineBreak[];
  checked: number;
  treeSize: number | null;
}

export interface ConsistencyProofFile {
  from: number;
  to: number;
  proof: string[];
}

const fromHex = (text: string) => Buffer.from(text, 'hex');
const asRecorded = (event: NonNullable<Extract<ExportLine, { kind: 'leaf' }>['event']>) =>
  ({ ...event, position: BigInt(event.position) }) as RecordedEvent;

/**
 * What an inspector checks with nothing but the public key, the digests they kept and an export: every
 * signature, the export's digest against the kept ones (recomputed from the leaves for a whole-log
 * export, by a consistency proof for a subtree export), every leaf against the signed root, and every
 * event against its leaf.
 */
export function verifyExport(options: {
  publicKey: KeyObject;
  /** Digests the inspector kept, any order; the export must be against one of them or a later one. */
  kept: readonly SignedDigest[];
  lines: Iterable<ExportLine>;
  /** For a subtree export against a newer digest than a kept one: proofs from each kept size. */
  consistency?: readonly ConsistencyProofFile[];
}): OfflineReport {
  const problems: string[] = [];
  const breaks: OfflineBreak[] = [];
  let checked = 0;
  for (const digest of options.kept) {
    if (!digestSignatureHolds(options.publicKey, digest)) problems.push(`the digest of ${digest.treeSize} events signed at ${digest.time} does not verify with this public key`);
  }
  const iterator = options.lines[Symbol.iterator]();
  const first = iterator.next();
  if (first.done || first.value.kind !== 'digest') {
    return { ok: false, problems: [...problems, 'the export does not start with its digest'], breaks, checked, treeSize: null };
  }
  const { kind: _kind, ...digest } = first.value;
  if (!digestSignatureHolds(options.publicKey, digest)) problems.push("the export's digest does not verify with this public key");
  const root = fromHex(digest.rootHash);

  const tree = new MemoryTree();
  let subtree = false;
  const report = (at: { streamId: string; revision: number; position: string }, reason: string) =>
    breaks.push({ streamId: at.streamId, revision: at.revision, position: at.position, reason });

  for (let next = iterator.next(); !next.done; next = iterator.next()) {
    const line = next.value;
    if (line.kind === 'digest') continue;
    if (line.kind === 'unsealed') {
      report(line.event, line.refused ? `refused by the service: ${line.reason}` : line.reason);
      continue;
    }
    const leafHash = fromHex(line.leafHash);
    if (line.proof) {
      subtree = true;
      if (!verifyInclusion(line.index, digest.treeSize, leafHash, line.proof.map(fromHex), root)) {
        report(line, `leaf ${line.index} is not in the signed tree of ${digest.treeSize} events (its inclusion proof fails)`);
        continue;
      }
    } else {
      if (line.index !== tree.size) problems.push(`leaf ${tree.size} is missing from the export (next line is leaf ${line.index})`);
      tree.append(leafHash);
    }
    if (!line.event) {
      report(line, missingReason(line));
      continue;
    }
    const event = asRecorded(line.event);
    if (!eventLeafHash(event).equals(leafHash)) report(line.event, describeChange(line, event));
    checked++;
  }

  if (!subtree) {
    if (tree.size !== digest.treeSize) {
      problems.push(`the export holds ${tree.size} leaves, the digest covers ${digest.treeSize}`);
    } else if (!tree.root().equals(root)) {
      problems.push(`the leaves of the export do not hash to the signed root ${digest.rootHash}: the tree was rewritten`);
    }
  }
  for (const kept of options.kept) {
    if (kept.treeSize > digest.treeSize) {
      problems.push(`the export is against ${digest.treeSize} events, older than the digest you kept of ${kept.treeSize}: export with ?treeSize=${kept.treeSize}`);
    } else if (!subtree) {
      if (kept.treeSize <= tree.size && !tree.root(kept.treeSize).equals(fromHex(kept.rootHash))) {
        problems.push(
          `the first ${kept.treeSize} events no longer hash to the root of the digest you kept (signed ${kept.time}): the record was rewritten since`,
        );
      }
    } else if (kept.treeSize === digest.treeSize) {
      if (kept.rootHash !== digest.rootHash) problems.push(`the export's digest and the one you kept (signed ${kept.time}) have the same size but different roots`);
    } else {
      const proof = options.consistency?.find((p) => p.from === kept.treeSize && p.to === digest.treeSize);
      if (!proof) problems.push(`no consistency proof from ${kept.treeSize} to ${digest.treeSize} (GET /v1/audit/proofs/consistency)`);
      else if (!verifyConsistency(kept.treeSize, digest.treeSize, fromHex(kept.rootHash), root, proof.proof.map(fromHex))) {
        problems.push(`the tree of the digest you kept (signed ${kept.time}) is not a prefix of the export's tree: the record was rewritten since`);
      }
    }
  }
  return { ok: problems.length === 0 && breaks.length === 0, problems, breaks, checked, treeSize: digest.treeSize };
}
