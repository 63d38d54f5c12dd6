// A configuration (or environment) that cannot work. Its message is one plain line saying what is wrong and what
// to do; start-up prints it as it is, without a stack trace.
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
