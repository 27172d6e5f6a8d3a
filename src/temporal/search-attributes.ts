import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Custom search attributes every neon-promote run sets, so operators can filter runs in the Temporal UI. */
export const NeonProjectId = defineSearchAttributeKey('NeonProjectId', SearchAttributeType.KEYWORD);
export const NeonPhase = defineSearchAttributeKey('NeonPhase', SearchAttributeType.KEYWORD);
export const NeonOutcome = defineSearchAttributeKey('NeonOutcome', SearchAttributeType.KEYWORD);

export const searchAttributeKeys = [NeonProjectId, NeonPhase, NeonOutcome];

/** `--search-attribute` flags for `temporal server start-dev`. */
export function searchAttributeFlags(): string[] {
  return searchAttributeKeys.flatMap((key) => ['--search-attribute', `${key.name}=Keyword`]);
}
