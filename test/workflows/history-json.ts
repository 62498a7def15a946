import { createRequire } from 'node:module';
import type { History } from '@temporalio/common/lib/proto-utils.js';

/**
 * Reads a history in Temporal's proto JSON (as `temporal workflow show --output json` writes it).
 *
 * The SDK's own historyFromJSON fails in this install ("type must be a Type"): npm gave
 * @temporalio/common and @temporalio/proto separate copies of protobufjs 8 (the root holds 7 for
 * grpc), and protojson checks `instanceof Type` across them. Using the protojson of the copy that built
 * the proto root gives the same result.
 */
const require = createRequire(import.meta.url);
const requireFromProto = createRequire(require.resolve('@temporalio/proto'));
const { fromJson } = requireFromProto('protobufjs/ext/protojson') as {
  fromJson(type: unknown, json: unknown, options: { ignoreUnknownFields: boolean }): unknown;
};
// Loaded through require: the ESM namespace wrapper of this CommonJS module lacks the reflection root.
const { patchProtobufRoot } = require('@temporalio/proto/lib/patch-protobuf-root') as {
  patchProtobufRoot(root: unknown): { lookupType(name: string): unknown };
};
const historyType = patchProtobufRoot(require('@temporalio/proto')).lookupType('temporal.api.history.v1.History');

export function historyFromProtoJson(json: unknown): History {
  const loaded = fromJson(historyType, json, { ignoreUnknownFields: true });
  if (!loaded) throw new TypeError('not a workflow history');
  return loaded as History;
}
