// The worker's workflow bundle: every workflow type Duban runs.
export { rectificationWorkflow } from './rectification.workflow.js';
export { compileReviewsWorkflow } from './review.workflow.js';
