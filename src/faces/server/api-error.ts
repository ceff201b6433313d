/** An answer the server gives to a request it will not or cannot do: a status, a code, one sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const badRequest = (message: string): ApiError => new ApiError(400, 'BAD_REQUEST', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'NOT_FOUND', message);
