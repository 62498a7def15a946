/** The ledgers (台账): projections, roll-ups, inspection replay and the queries the HTTP layer calls. */
export { projectionDefaults, rebuildLedgers, startProjections, type ProjectionDeps, type ProjectionStatus, type Projections } from './runner.js';
export { createLedgerQueries, type LedgerQueryDeps } from './queries.js';
export { createInspector, type Inspector, type AsOfPoint } from './replay.js';
export { applyEvent, createLedgerState, serializeState, deserializeState, type LedgerState, type LedgerEvent } from './state.js';
export { toRollup } from './unit-rollup.js';
export { problemLateness } from './problem-ledger.js';
