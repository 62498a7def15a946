export * from './events.js';
export * from './hierarchy.js';
export * from './decider.js';
export * from './clearance.js';
