export interface RunContext {
  readonly runId: string;
}
