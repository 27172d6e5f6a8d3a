import type { FaultConfig, FaultKind, FaultRule, OperationFate } from './types';

export type FaultPlan = {
  latencyMs: number;
  /** Answer this instead of handling the request. */
  reply?: { status: number; code: string; message: string; headers: Record<string, string> };
  /** How the mutation's operations end; absent: they finish. */
  operationFate?: OperationFate;
  responseLost: boolean;
};

const FATES: Partial<Record<FaultKind, OperationFate>> = {
  fail_operation: 'fail',
  cancel_operation: 'cancel',
  skip_operation: 'skip',
  operation_error: 'error',
};

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Decides, per request, which configured faults apply. Seeded so that a run with the same config repeats itself. */
export class FaultEngine {
  private rules: (FaultRule & { used: number })[] = [];
  private random: () => number = Math.random;

  constructor(config?: FaultConfig) {
    this.set(config ?? { rules: [] });
  }

  set(config: FaultConfig): void {
    this.rules = config.rules.map((r) => ({ ...r, used: 0 }));
    this.random = mulberry32(config.seed ?? 1);
  }

  get(): FaultConfig & { rules: (FaultRule & { used: number })[] } {
    return { rules: this.rules.map((r) => ({ ...r })) };
  }

  private fires(rule: FaultRule & { used: number }, route: string): boolean {
    if (rule.route && rule.route !== '*' && rule.route !== route) return false;
    if (rule.times !== undefined && rule.used >= rule.times) return false;
    if (this.random() >= (rule.rate ?? 1)) return false;
    rule.used++;
    return true;
  }

  plan(route: string, mutating: boolean): FaultPlan {
    const plan: FaultPlan = { latencyMs: 0, responseLost: false };
    for (const rule of this.rules) {
      const fate = FATES[rule.kind];
      // Operation outcomes and lost responses only mean something for requests that change state.
      if ((fate || rule.kind === 'response_lost') && !mutating) continue;
      if (fate && plan.operationFate) continue;
      if (plan.reply && rule.kind !== 'latency') continue;
      if (!this.fires(rule, route)) continue;
      switch (rule.kind) {
        case 'latency':
          plan.latencyMs += rule.latencyMs ?? 100;
          break;
        case 'error': {
          const status = rule.status ?? 503;
          plan.reply = {
            status,
            code: status === 503 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_ERROR',
            message: `injected fault: HTTP ${status}`,
            headers: {},
          };
          break;
        }
        case 'rate_limit':
          plan.reply = {
            status: 429,
            code: 'TOO_MANY_REQUESTS',
            message: 'rate limit exceeded (injected fault)',
            headers: { 'retry-after': String(rule.retryAfterSec ?? 1) },
          };
          break;
        case 'locked':
          plan.reply = {
            status: 423,
            code: 'LOCKED',
            message: 'project already has running conflicting operations, scheduling of new ones is prohibited',
            headers: {},
          };
          break;
        case 'fail_operation':
        case 'cancel_operation':
        case 'skip_operation':
        case 'operation_error':
          plan.operationFate = fate;
          break;
        case 'response_lost':
          plan.responseLost = true;
          break;
      }
    }
    return plan;
  }
}
