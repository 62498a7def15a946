import type { Decider } from '../decider.js';
import type { ProblemCommand } from './commands.js';
import { decideProblem } from './decide.js';
import type { ProblemEvent } from './events.js';
import { evolveProblem, initialProblemState, type ProblemState } from './state.js';

export const problemDecider: Decider<ProblemCommand, ProblemEvent, ProblemState> = {
  initialState: initialProblemState,
  evolve: evolveProblem,
  decide: decideProblem,
};
