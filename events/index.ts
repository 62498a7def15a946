/** The domain in one import: every stream, the registry, access policy, time and the error family. */
export * from './envelope.js';
export * from './errors.js';
export * from './common.js';
export * from './time.js';
export * from './decider.js';
export * from './access.js';
export * from './registry.js';
export * from './unit/index.js';
export * from './household/index.js';
export * from './listing/index.js';
export * from './problem/index.js';
export * from './review/index.js';
