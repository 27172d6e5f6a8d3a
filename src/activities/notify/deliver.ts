/**
 * The `notify` activity: POSTs a run's outcome to a webhook, signed with the worker's shared secret (see
 * signature.ts). The secret and the worker's own webhook URL come from the worker's environment and never
 * enter a workflow's input, result or history. One attempt per call: the deliverNotification workflow retries.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { request, type Dispatcher } from 'undici';
import type { NotifyActivities, NotifyFailureType } from '../contract';
import { outboundDispatcher, PrivateAddressRefused, privateHttpAllowedFromEnv } from './outbound';
import { signWebhook } from './signature';

export type WebhookSettings = {
  /** The worker's webhook, for runs that name none (NEON_PROMOTE_WEBHOOK_URL). */
  url?: string;
  /** The shared secret every notification is signed with (NEON_PROMOTE_WEBHOOK_SECRET). */
  secret?: string;
  /** Per attempt; default 10 s. */
  timeoutMs?: number;
  /** Whether webhooks may be at loopback, private or link-local addresses (NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1). */
  allowPrivateNetwork?: boolean;
  /** Replaces the dispatcher that allowPrivateNetwork chooses. */
  dispatcher?: Dispatcher;
  /** Unix milliseconds; tests pass a fixed clock. */
  now?: () => number;
};

/**
 * NEON_PROMOTE_WEBHOOK_URL and NEON_PROMOTE_WEBHOOK_SECRET; a URL without a secret is refused at start-up.
 * NEON_PROMOTE_ALLOW_PRIVATE_HTTP=1 lets webhooks reach private addresses.
 */
export function webhookSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): WebhookSettings {
  const url = env.NEON_PROMOTE_WEBHOOK_URL || undefined;
  const secret = env.NEON_PROMOTE_WEBHOOK_SECRET || undefined;
  if (url && !secret) throw new Error('NEON_PROMOTE_WEBHOOK_URL is set without NEON_PROMOTE_WEBHOOK_SECRET');
  if (url && !URL.canParse(url)) throw new Error('NEON_PROMOTE_WEBHOOK_URL is not a URL');
  return { url, secret, allowPrivateNetwork: privateHttpAllowedFromEnv(env) };
}

const fail = (type: NotifyFailureType, message: string, nextRetryDelayMs?: number) =>
  ApplicationFailure.create({
    type,
    message,
    nonRetryable: type !== 'WebhookUnavailable',
    ...(nextRetryDelayMs !== undefined ? { nextRetryDelay: nextRetryDelayMs } : {}),
  });

/** Seconds or an HTTP date, as milliseconds from now; at most 10 minutes. */
export function retryAfterMs(value: string | string[] | undefined, nowMs: number): number | undefined {
  const header = Array.isArray(value) ? value[0] : value;
  if (!header) return undefined;
  const ms = /^\d+$/.test(header.trim()) ? Number(header) * 1000 : Date.parse(header) - nowMs;
  return Number.isFinite(ms) ? Math.min(600_000, Math.max(0, ms)) : undefined;
}

export function createNotifyActivities(settings: WebhookSettings = {}): NotifyActivities {
  const now = settings.now ?? Date.now;
  const dispatcher = settings.dispatcher ?? outboundDispatcher(settings.allowPrivateNetwork);
  return {
    async workerWebhook() {
      return { configured: Boolean(settings.url) };
    },
    async notify({ target, payload }) {
      const url = 'url' in target ? target.url : settings.url;
      if (!url) throw fail('WebhookNotConfigured', 'the worker has no NEON_PROMOTE_WEBHOOK_URL');
      if (!settings.secret) throw fail('WebhookNotConfigured', 'the worker has no NEON_PROMOTE_WEBHOOK_SECRET');
      // Only the origin in messages: a webhook's path or query often is its credential (e.g. Slack's).
      const where = `webhook ${new URL(url).origin}`;
      const body = JSON.stringify(payload);
      const timeout = AbortSignal.timeout(settings.timeoutMs ?? 10_000);
      const signal = AbortSignal.any([Context.current().cancellationSignal, timeout]);
      let res: Dispatcher.ResponseData;
      try {
        res = await request(url, {
          method: 'POST',
          body,
          signal,
          headers: {
            'content-type': 'application/json',
            'user-agent': 'neon-promote',
            'x-neon-promote-event': payload.event,
            'x-neon-promote-delivery': payload.deliveryId,
            'x-neon-promote-signature': signWebhook(body, settings.secret, Math.floor(now() / 1000)),
          },
          dispatcher,
        });
      } catch (err) {
        // Asking again would reach the same address: the URL (or the worker's settings) must change.
        if (err instanceof PrivateAddressRefused) throw fail('WebhookRejected', `${where}: ${err.message}`);
        throw fail('WebhookUnavailable', `${where}: ${err instanceof Error ? err.message : String(err)}`);
      }
      await res.body.dump().catch(() => undefined);
      const status = res.statusCode;
      if (status >= 200 && status < 300) return { status };
      const answer = `${where} answered ${status}`;
      if (status === 429 || status === 503) {
        throw fail('WebhookUnavailable', answer, retryAfterMs(res.headers['retry-after'], now()));
      }
      if (status >= 400 && status < 500 && status !== 408) throw fail('WebhookRejected', answer);
      throw fail('WebhookUnavailable', answer);
    },
  };
}
