import { resourceName, type ResourceKind } from '../../../src/workflows/contract/names';

const kinds: ResourceKind[] = ['rollback', 'candidate', 'restore'];

test('workflow IDs that differ only in case, punctuation or script name different resources', () => {
  const ids = [
    'Promote-P-1',
    'promote-p-1',
    'promote_p_1',
    'promote.p.1',
    'promote--p-1',
    'プロモート',
    'промоут',
    '🚀',
  ];
  for (const kind of kinds) {
    const names = ids.map((id) => resourceName(kind, id));
    expect(new Set(names).size).toBe(ids.length);
    for (const name of names) expect(name).toMatch(new RegExp(`^np-${kind}-[a-z0-9-]+$`));
  }
});

test('an ID that is already a clean name is kept as it is; a long one is cut to 100 characters with its hash', () => {
  expect(resourceName('rollback', 'promote-p-1-abc')).toBe('np-rollback-promote-p-1-abc');
  const long = `promote-${'x'.repeat(200)}`;
  const [a, b] = [resourceName('rollback', `${long}-a`), resourceName('rollback', `${long}-b`)];
  expect(a).not.toBe(b);
  expect(a.length).toBeLessThanOrEqual(100);
  expect(resourceName('rollback', 'Promote-P-1')).toMatch(/^np-rollback-promote-p-1-[0-9a-f]{8}$/);
});
