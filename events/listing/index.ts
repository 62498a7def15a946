export * from './events.js';
export * from './decider.js';
export * from './thresholds.js';
