import { isGrpcServiceError, type Connection } from '@temporalio/client';
// The default import: @temporalio/proto is CommonJS, and Node's ESM loader sees no named `temporal` in it.
import proto from '@temporalio/proto';
import { searchAttributeCliTypes, searchAttributeKeys } from '../../workflows/search-attributes.js';

const IndexedValueType = proto.temporal.api.enums.v1.IndexedValueType;
const indexedType = {
  KEYWORD: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  INT: IndexedValueType.INDEXED_VALUE_TYPE_INT,
  DATETIME: IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
} as const;

/**
 * Registers Duban's search attributes in the namespace, those not there yet (the operator API, as
 * `temporal operator search-attribute create` does). Returns the names it added.
 */
export async function registerSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const keys = Object.values(searchAttributeKeys);
  const known = await registeredNames(connection, namespace);
  const missing = known ? keys.filter((key) => !known.has(key.name)) : keys;
  if (missing.length === 0) return [];
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(missing.map((key) => [key.name, indexedType[key.type as keyof typeof indexedType]])),
  });
  return missing.map((key) => key.name);
}

/** The names registered in the namespace; undefined where the server cannot list them (the time-skipping test server). */
async function registeredNames(connection: Connection, namespace: string): Promise<Set<string> | undefined> {
  try {
    const existing = await connection.operatorService.listSearchAttributes({ namespace });
    return new Set([...Object.keys(existing.systemAttributes), ...Object.keys(existing.customAttributes)]);
  } catch (error) {
    // gRPC status 12: UNIMPLEMENTED.
    if (isGrpcServiceError(error) && error.code === 12) return undefined;
    throw error;
  }
}

/** Duban's search attributes the namespace does not know; empty where the server cannot list them. */
export async function missingSearchAttributes(connection: Connection, namespace: string): Promise<string[]> {
  const known = await registeredNames(connection, namespace);
  return known ? Object.values(searchAttributeKeys).map((key) => key.name).filter((name) => !known.has(name)) : [];
}

/** The command of docs/workflows.md that registers them (those named, by default all) on a cluster. */
export function registerSearchAttributesCommand(address: string, namespace: string, only?: readonly string[]): string {
  const names = searchAttributeCliTypes
    .filter(({ name }) => !only || only.includes(name))
    .map(({ name, type }) => `--name ${name} --type ${type}`)
    .join(' ');
  return `temporal operator search-attribute create --address ${address} --namespace ${namespace} ${names}`;
}

/**
 * Start-up check for a server Duban did not start: without its search attributes every workflow start
 * is refused, so the process stops here with the command that fixes it instead of retrying forever.
 */
export async function requireSearchAttributes(connection: Connection, address: string, namespace: string): Promise<void> {
  const missing = await missingSearchAttributes(connection, namespace);
  if (missing.length === 0) return;
  throw new Error(
    `Temporal namespace ${namespace} at ${address} lacks Duban's search attributes (${missing.join(', ')}): ` +
      `register them once (docs/workflows.md, "Search attributes"): ${registerSearchAttributesCommand(address, namespace, missing)}`,
  );
}
