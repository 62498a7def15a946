import { z } from 'zod';
import { validatedWith } from './common.js';
import { DubanError, invalid } from './errors.js';
import { compileParser, type FastParser, safeParseWith } from './fast-parse.js';
import { type HouseholdEvent, householdEventSchemas } from './household/events.js';
import { type ListingEvent, listingEventSchemas } from './listing/events.js';
import {
  type ProblemEvent,
  problemEventSchemas,
  problemFoundSchema,
  problemFoundV1Schema,
} from './problem/events.js';
import { POLICY_V1 } from './problem/policy.js';
import { parseWithInternedPolicy } from './problem/policy-intern.js';
import { type ReviewEvent, reviewEventSchemas } from './review/events.js';
import { type UnitEvent, unitEventSchemas } from './unit/events.js';

/** Every event of the domain. */
export type DubanEvent = UnitEvent | HouseholdEvent | ListingEvent | ProblemEvent | ReviewEvent;
export type EventType = DubanEvent['type'];
export type EventOf<T extends EventType> = Extract<DubanEvent, { type: T }>;
export type EventData<T extends EventType> = EventOf<T>['data'];

/** Current schema of each event type. */
export const currentSchemas = {
  ...unitEventSchemas,
  ...householdEventSchemas,
  ...listingEventSchemas,
  ...problemEventSchemas,
  ...reviewEventSchemas,
} as const satisfies Record<EventType, z.ZodType>;

export const eventTypes = Object.keys(currentSchemas) as EventType[];

/**
 * An older version of an event: its schema as written then, and the step that turns its data into the
 * next version's data. Chains run v1 → v2 → … → current, validating each step's input.
 */
interface OlderVersion {
  schema: z.ZodType;
  upcast(data: unknown): unknown;
}

/** type → version → how to read that version. Versions missing here are the current one. */
const olderVersions: Partial<Record<EventType, Record<number, OlderVersion>>> = {
  ProblemFound: {
    // v1 had no `source` and no frozen policy: every problem then came from an inspection under policy v1.
    1: {
      schema: problemFoundV1Schema,
      upcast: (data) => ({ ...(data as object), source: 'inspection', policy: POLICY_V1 }),
    },
  },
};

const problemFoundWithoutPolicy = problemFoundSchema.omit({ policy: true });

// Every stored event is validated again on the way out: each schema's accepting path is compiled once
// (events/fast-parse.ts), and zod still decides, and words, every refusal.
const compiledCurrent = new Map<string, FastParser>();
for (const [type, schema] of Object.entries(currentSchemas)) {
  const parser = compileParser(schema);
  if (parser) compiledCurrent.set(type, parser);
}
// A ProblemFound whose policy the interning has already decided: every other member compiled, the policy
// taken as it is (and then replaced by the shared validated object).
const compiledPolicyDecided = compileParser(problemFoundSchema, { policy: (policy) => policy });
const compiledOlder = new Map<z.ZodType, FastParser | undefined>();
function compiledFor(schema: z.ZodType): FastParser | undefined {
  if (!compiledOlder.has(schema)) compiledOlder.set(schema, compileParser(schema));
  return compiledOlder.get(schema);
}

/** The schema version new events of a type are written with. */
export function currentVersion(type: EventType): number {
  return currentVersions.get(type) ?? 1;
}
// Asked for every decoded event: worked out once.
const currentVersions = new Map(
  Object.entries(olderVersions).map(([type, older]) => [type, Math.max(...Object.keys(older).map(Number)) + 1]),
);

export const isEventType = (type: string): type is EventType => Object.hasOwn(currentSchemas, type);

function schemaFor(type: string, rule: string): z.ZodType {
  if (!isEventType(type)) throw invalid(rule, `unknown event type ${type}`, { type });
  return currentSchemas[type];
}

function issuesOf(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.map(String), message: i.message }));
}

/** Validates data on the way in; returns what to store, with the current schema version. */
export function encodeEvent<T extends EventType>(
  type: T,
  data: unknown,
): { type: T; data: EventData<T>; schemaVersion: number } {
  const schema = schemaFor(type, 'event.encode');
  // A decider's event, validated by makeEvent against this very schema a moment ago.
  if (validatedWith(data) === schema) return { type, data: data as EventData<T>, schemaVersion: currentVersion(type) };
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw invalid('event.encode', `invalid ${type}: ${z.prettifyError(parsed.error)}`, {
      type,
      issues: issuesOf(parsed.error),
    });
  }
  return { type, data: parsed.data as EventData<T>, schemaVersion: currentVersion(type) };
}

/**
 * Reads stored data of any known version as the current version: validates the stored version, upcasts
 * step by step, validates the result. Throws DubanError 'validation' with rule `event.decode`.
 */
export function decodeEvent(type: string, schemaVersion: number, data: unknown): DubanEvent {
  const schema = schemaFor(type, 'event.decode');
  const eventType = type as EventType;
  const current = currentVersion(eventType);
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > current) {
    throw invalid('event.decode', `${type} has no schema version ${schemaVersion} (current ${current})`, {
      type,
      schemaVersion,
    });
  }
  let value = data;
  for (let version = schemaVersion; version < current; version++) {
    const older = olderVersions[eventType]?.[version];
    if (!older) {
      throw invalid('event.decode', `no upcaster for ${type} v${version}`, { type, schemaVersion: version });
    }
    const parsed = safeParseWith(older.schema, compiledFor(older.schema), value);
    if (!parsed.success) {
      throw invalid('event.decode', `stored ${type} v${version} is invalid: ${z.prettifyError(parsed.error)}`, {
        type,
        schemaVersion: version,
        issues: issuesOf(parsed.error),
      });
    }
    value = older.upcast(parsed.data);
  }
  // Same verdict and output as the schema; the policy is validated once per distinct content and shared.
  const parsed =
    eventType === 'ProblemFound'
      ? parseWithInternedPolicy(problemFoundSchema, problemFoundWithoutPolicy, value, compiledPolicyDecided)
      : safeParseWith(schema, compiledCurrent.get(type), value);
  if (!parsed.success) {
    throw invalid('event.decode', `stored ${type} v${schemaVersion} is invalid: ${z.prettifyError(parsed.error)}`, {
      type,
      schemaVersion,
      issues: issuesOf(parsed.error),
    });
  }
  return { type: eventType, data: parsed.data } as DubanEvent;
}

export const isDecodeError = (error: unknown): error is DubanError =>
  error instanceof DubanError && error.rule === 'event.decode';
