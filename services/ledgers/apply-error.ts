/** An event that decodes but cannot be applied to the ledgers (out of order, unknown item). It gets parked. */
export class ApplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ApplyError';
  }
}
