import type pg from 'pg';
import { logger } from '../log/logger.js';
import { renewLeases } from '../state/work-units.js';

/**
 * The heartbeat of a claimer's leases: renews them every third of the lease, on a session of its own (never a
 * copy's: that one is inside a batch's transaction). A batch renews its own lease in its fence too; this keeps a
 * lease alive between batches and while a batch's bounds are read.
 */
export class LeaseKeeper {
  private readonly leases = new Set<string>();
  /** Leases given up with a broken session (not released): this claimer takes them back at once. */
  private readonly abandoned = new Map<string, string>(); // lease id -> unit
  private timer: NodeJS.Timeout | undefined;
  private beating = false;

  constructor(
    private readonly session: Serial,
    private readonly leaseMs: number,
  ) {}

  add(leaseId: string, unit: string): void {
    this.leases.add(leaseId);
    for (const [id, u] of this.abandoned) if (u === unit) this.abandoned.delete(id);
    this.timer ??= setInterval(() => void this.beat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** A lease whose session broke before it could be given back. */
  abandon(leaseId: string, unit: string): void {
    this.abandoned.set(leaseId, unit);
  }

  /** The abandoned leases (of `unit`, or all), for a claim that may take them back. */
  reclaimable(unit?: string): string[] {
    return [...this.abandoned].filter(([, u]) => unit === undefined || u === unit).map(([id]) => id);
  }

  remove(leaseId: string): void {
    this.leases.delete(leaseId);
    if (this.leases.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async beat(): Promise<void> {
    if (this.beating || this.leases.size === 0) return;
    this.beating = true;
    try {
      await this.session.run((c) => renewLeases(c, [...this.leases], this.leaseMs));
    } catch (err) {
      // a missed heartbeat costs nothing while the batches' fences renew; a dead session ends the lease by expiry
      logger().debug({ reason: (err as Error).message }, 'lease heartbeat failed');
    } finally {
      this.beating = false;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.leases.clear();
  }
}

/** One session whose statements run one after another, whoever asks (the heartbeat, the apply's ready marks). */
export class Serial {
  private chain: Promise<unknown> = Promise.resolve();
  constructor(readonly client: pg.ClientBase) {}

  run<T>(fn: (c: pg.ClientBase) => Promise<T>): Promise<T> {
    const next = this.chain.then(() => fn(this.client));
    this.chain = next.catch(() => undefined);
    return next;
  }
}
