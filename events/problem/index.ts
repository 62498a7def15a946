export * from './events.js';
export * from './policy.js';
export * from './commands.js';
export * from './decider.js';
