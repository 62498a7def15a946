/**
 * The answers the console reads, as the API documents them (services/http/routes/*.ts). Only the fields the
 * pages show are named; test/web/console.e2e.test.ts checks every endpoint against /openapi.json.
 */
export type Role = 'admin' | 'supervisor' | 'cadre' | 'inspector';
export type Colour = 'none' | 'blue' | 'yellow' | 'red';
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

export interface Rollup extends Unit {
  problemsOpen: number;
  problemsOverdue: number;
  problemsCleared: number;
  householdsTotal: number;
  householdsMeetingStandard: number;
  householdsMonitored: number;
  planMeasuresTotal: number;
  planMeasuresCompleted: number;
  problemMeasuresTotal: number;
  problemMeasuresCompleted: number;
  listingsActive: number;
  clear: boolean;
  clearance: string | null;
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

export interface ProblemRow {
  problemId: string;
  unitId: string;
  responsibleUnitId: string;
  category: string;
  source: string;
  severity: string;
  description: string;
  deadline: string;
  status: ProblemStatus;
  open: boolean;
  colour: Colour;
  escalationLevel: number;
  measuresTotal: number;
  measuresDone: number;
  daysOverdue: number;
  overdue: boolean;
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

export interface EscalationRow {
  problemId: string;
  unitId: string;
  responsibleUnitId: string;
  level: number;
  toUnitId: string;
  colour: Colour;
  reason: string;
  escalatedAt: string;
  deadline: string;
}

export interface EscalationBoard extends LedgerPage<EscalationRow> {
  byLevelAndColour: Record<string, Record<string, number>>;
}

export interface ListingRow {
  listingId: string;
  targetUnitId: string;
  supervisingUnitId: string;
  leader: unknown;
  reason: string;
  active: boolean;
  listedAt: string;
  delistedAt: string | null;
}

export interface HouseholdRow {
  householdId: string;
  villageId: string;
  category: string;
  members: number;
  planTotal: number;
  planDone: number;
  assessment: { food: boolean; clothing: boolean; education: boolean; medical: boolean; housing: boolean; water: boolean; meetsStandard: boolean; assessedAt: string } | null;
  meetsStandard: boolean;
  monitored: boolean;
  monitoringReason: string | null;
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
