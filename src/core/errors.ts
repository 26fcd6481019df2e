// Errors that become application/problem+json answers (RFC 9457). Throw them anywhere below a route.
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(detail ?? title);
  }
}

export const badRequest = (detail: string, extra?: Record<string, unknown>) => new Problem(400, 'Bad request', detail, extra);
export const unauthorized = (detail = 'Sign in first, or send a valid API token.') => new Problem(401, 'Not signed in', detail, { code: 'notSignedIn' });
export const forbidden = (detail: string, extra?: Record<string, unknown>) => new Problem(403, 'Not allowed', detail, extra);
export const notFound = (what: string, extra?: Record<string, unknown>) => new Problem(404, 'Not found', `${what} does not exist or is outside your jurisdiction.`, extra);
/** The refusal of every route that names a person by id: one code and wording for all of them. */
export const personIdUnknown = (personId: number) => notFound(`Person ${personId}`, { code: 'personIdUnknown', personId });
/** The same for a compound. */
export const compoundUnknown = (compoundId: number) => notFound(`Compound ${compoundId}`, { code: 'compoundUnknown', compoundId });
export const conflict = (detail: string, extra?: Record<string, unknown>) => new Problem(409, 'Conflict', detail, extra);
