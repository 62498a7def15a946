import { createHash, createHmac, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';
import { canonicalJson } from '../../infra/event-store/audit-chain.js';
import type { SignedDigest } from '../ports/audit-log.js';

/**
 * The signing key of the audit digests (Ed25519), kept outside the event store: whoever can write the
 * events cannot sign a digest over a rewritten log. From it come the public key inspectors verify with
 * and, by HMAC, the key of the writers' witnesses.
 */
export interface AuditKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  publicKeyPem: string;
  /** Hex SHA-256 of the public key's SPKI DER. */
  keyId: string;
  witnessKey: Buffer;
}

export function auditKeyFromPem(pem: string): AuditKey {
  const privateKey = createPrivateKey(pem);
  if (privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error(`the audit signing key must be Ed25519 (got ${privateKey.asymmetricKeyType ?? 'a symmetric key'})`);
  }
  const publicKey = createPublicKey(privateKey);
  const secret = privateKey.export({ format: 'der', type: 'pkcs8' });
  return {
    privateKey,
    publicKey,
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    keyId: keyIdOf(publicKey),
    witnessKey: createHmac('sha256', secret).update('duban audit witness v1').digest(),
  };
}

export function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex');
}

/** The bytes a digest's signature covers. */
export function digestMessage(digest: Pick<SignedDigest, 'treeSize' | 'rootHash' | 'time'>): Buffer {
  return Buffer.from(`duban-audit-digest/v1\n${canonicalJson({ rootHash: digest.rootHash, time: digest.time, treeSize: digest.treeSize })}`);
}

export function signDigest(key: AuditKey, treeSize: number, rootHash: Buffer, time: Date): SignedDigest {
  const unsigned = { treeSize, rootHash: rootHash.toString('hex'), time: time.toISOString() };
  return { ...unsigned, signature: sign(null, digestMessage(unsigned), key.privateKey).toString('base64'), keyId: key.keyId };
}

/** Is the digest signed by this public key? */
export function digestSignatureHolds(publicKey: KeyObject, digest: SignedDigest): boolean {
  try {
    return verify(null, digestMessage(digest), publicKey, Buffer.from(digest.signature, 'base64'));
  } catch {
    return false;
  }
}
