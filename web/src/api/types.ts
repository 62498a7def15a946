import type {
  Colour,
  EscalationRow,
  HouseholdLedgerItem,
  ListingRow,
  ProblemLedgerItem,
  UnitRollup,
} from '../../../services/ports/read-model.js';

/**
 * The answers the console reads. Ledger rows are the read model's own types (services/ports/read-model.ts),
 * which the routes send as they are; the rest name only the fields the pages show.
 * test/web/console.e2e.test.ts checks every endpoint against /openapi.json.
 */
export type { Colour, EscalationRow, ListingRow };
export type Rollup = UnitRollup;
export type ProblemRow = ProblemLedgerItem;
export type HouseholdRow = HouseholdLedgerItem;
export type Role = 'admin' | 'supervisor' | 'cadre' | 'inspector';
export type ProblemStatus = 'open' | 'acknowledged' | 'submitted' | 'cleared';

export interface Principal {
  userId: string;
  unitId: string;
  role: Role;
}

export interface Unit {
  unitId: string;
  name: string;
  level: string;
  parentId: string | null;
}

export interface LedgerPage<T> {
  items: T[];
  nextCursor?: string;
  position: string;
  at: string;
}

export interface RollupAnswer {
  unit: Rollup;
  children: Rollup[];
  position: string;
  at: string;
}

export interface Evidence {
  kind: string;
  uri: string;
  sha256: string;
}

export interface Problem {
  problemId: string;
  revision: number;
  status: ProblemStatus;
  targetUnitId: string;
  responsibleUnitId: string;
  category: string;
  source: string;
  description: string;
  severity: string;
  deadline: string;
  acknowledged: boolean;
  colour: Colour;
  escalationLevel: number;
  escalatedTo: string | null;
  measures: { measureId: string; description: string; assigneeUnitId: string; deadline: string; completed: boolean; evidence: Evidence[] }[];
  measuresTotal: number;
  measuresDone: number;
  rectification: { status: 'submitted' | 'rejected'; summary: string; submittedBy: { userId: string; unitId: string }; rejectionReason?: string } | null;
  clearedBy: { userId: string; unitId: string } | null;
  clearedAt: string | null;
  reopenCount: number;
}

export interface HistoryEvent {
  position: string;
  revision: number;
  type: string;
  data: Record<string, unknown>;
  actor: { userId: string; unitId: string; role: string };
  occurredAt: string;
  recordedAt: string;
  hash: string;
}

export interface ProblemHistory {
  problemId: string;
  events: HistoryEvent[];
  verification: { ok: boolean; checked: number; brokenAt?: { revision: number; reason: string } };
}

export interface EscalationBoard extends LedgerPage<EscalationRow> {
  byLevelAndColour: Record<string, Record<string, number>>;
}

/** RFC 9457 problem details as the API sends them (services/http/problem-details.ts). */
export interface ProblemDetails {
  type: string;
  title: string;
  title_zh?: string;
  status: number;
  detail?: string;
  rule?: string;
}
