/** The slice of pino the job system uses, so a pino logger (or a child of one) can be passed as is. */
export interface JobLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const ignore = () => {};

export const silentJobLogger: JobLogger = { debug: ignore, info: ignore, warn: ignore, error: ignore };
