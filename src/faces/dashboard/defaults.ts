/** Where `ferry dashboard` listens unless told otherwise (its --help shows them without loading the server). */
export const DASHBOARD_DEFAULTS = { host: '127.0.0.1', port: 8080 } as const;
